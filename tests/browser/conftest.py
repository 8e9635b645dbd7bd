"""Browser tests: Playwright driving Debian's Chromium against the service over real HTTP.

``live`` is the app served by waitress on a free port of 127.0.0.1, on a fresh SQLite database holding the
two-clinic world (tests/factories.py) and a shared FixedClock; ``page`` is a new browser page at 1280×900;
``shot(page, name)`` saves a screenshot under artifacts/screenshots/<test>/.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from waitress import wasyncore
from waitress.server import create_server

from recall.clinic.signin import SessionVia, open_session
from recall.clinic.staff import Staff
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.web import create_app
from recall.web.console.pages import SESSION_KEY
from tests.browser.install import chromium_path
from tests.conftest import T0
from tests.factories import World, make_world

ASSETS = ("script", "stylesheet", "image", "font", "media")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@dataclass
class Live:
    url: str
    app: Flask
    database: Database
    clock: FixedClock
    world: World

    def sign_in(self, page: Page, name: str, clinic: str = "a") -> Staff:
        """Sign the browser in as the world's member ``name`` of ``clinic`` (a launch-like session, no password
        hashing), and open the console's front door."""
        member = getattr(self.world, clinic).staff[name]
        with self.database.writer() as s:
            signed = open_session(s, self.clock, s.get_one(Staff, member.id), SessionVia.LAUNCH)
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        cookie = serializer.dumps({SESSION_KEY: signed.secret})
        page.context.add_cookies([{"name": self.app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": self.url}])
        page.goto(self.url + "/console/")
        return member


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.fail(
            "BROWSER TESTS CANNOT RUN: Debian's chromium is not installed and could not be installed "
            "(see the warning at the top of this run); install it with: apt-get install -y chromium",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # A page or a fragment answering 4xx is the console saying no (a wrong password is a 401, a refused outcome a
    # 422 shown beside its field); a 5xx anywhere, or an asset (script, style, image, font) that fails to load, is
    # a broken page. The browser's own line for each failed load is redundant.
    opened.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    opened.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    yield opened
    context.close()
    # A script error or a CSP violation (the console reports both) is a failure, not noise.
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    folder = SCREENSHOTS / request.node.name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    count = iter(range(1, 1000))

    def take(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{next(count):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[Live]:
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    clock = FixedClock(T0)
    world = make_world(database, clock)
    app = create_app("test", database=database, clock=clock)
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=4, ident="recall-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}"
        yield Live(url=url, app=app, database=database, clock=clock, world=world)
    finally:
        stop(server, thread)
        database.dispose()


def stop(server: Any, thread: threading.Thread) -> None:
    """Close the listening socket and every open connection inside the server's own loop, then wait for it.

    Closing them from this thread races the loop: a socket closed while the loop waits on it in select() ends
    the loop thread with EBADF, which pytest reports as an error at the test's teardown. The trigger runs the
    close in the loop's thread; with its map empty, the loop returns.
    """
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()
    assert not thread.is_alive(), "the live server's loop did not stop"
