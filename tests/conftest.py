"""Fixtures shared by every test.

Database-backed tests run once per configured database: SQLite always, and
PostgreSQL too when TEST_POSTGRES_URL is set (``.ci/run`` sets it). The schema
comes from the Alembic migrations, never from ``create_all``. The local Twilio
stand-in and a gateway pointed at it are here too, for tests/api and tests/integration.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from recall.common.clock import FixedClock
from recall.common.db import Base, Database, make_engine
from recall.migrate import upgrade

pytest.register_assert_rewrite("tests.api.checks", "tests.factories")
from recall.common.actors import Actor  # noqa: E402
from tests.factories import World, actor_of, make_world  # noqa: E402

if TYPE_CHECKING:  # only the fixtures that build an app import Flask: tests/unit runs without it
    from flask import Flask
    from flask.testing import FlaskClient

PG_URL = os.environ.get("TEST_POSTGRES_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
# A Monday morning in Stockholm, far from any DST change.
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# The longest tests start first, so that parallel workers (pytest-xdist, --dist worksteal) share out
# the rest around them instead of one worker finishing alone with them at the end.
SLOW_FIRST = (
    "test_fhir_cli.py::test_a_bundle_of_ten_thousand_appointments",
    "test_queue_concurrency.py::test_many_claimers",
    "test_dispatch_crash.py::",
    "test_webhooks_crash.py::",
)


def pytest_configure(config: pytest.Config) -> None:
    """Once per run, in the main process: Debian's Chromium for the browser tests, installed if missing."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller did it
    from tests.browser.install import ensure_chromium

    path, said = ensure_chromium()
    if path is None:
        banner = "!" * 100
        print(f"\n{banner}\nBROWSER TESTS WILL FAIL: {said}\n{banner}\n", file=sys.stderr)
    elif "warning" in said:
        print(f"\nbrowser tests: {said}\n", file=sys.stderr)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not any(name in item.nodeid for name in SLOW_FIRST))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _worker_database_url(url: str) -> str:
    """Under pytest-xdist each worker process gets a database of its own on the same server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'test'}_{worker}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    assert PG_URL
    url = _worker_database_url(PG_URL)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _shared_databases() -> Iterator[dict[str, Database]]:
    """One ``Database`` per URL for the whole session. SQLAlchemy caches compiled statements per engine;
    a new engine for every test compiled every statement again, a third of the suite's time."""
    made: dict[str, Database] = {}
    yield made
    for db in made.values():
        db.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, _shared_databases: dict[str, Database]) -> str:
    """A freshly migrated, empty database for this test: the SQLite template copied over this process's
    file, or every PostgreSQL table truncated. Connections of the previous test are closed first."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = template.parent / "recall.db"
        url = f"sqlite:///{path}"
        if url in _shared_databases:
            _shared_databases[url].dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, path)
        return url
    url = request.getfixturevalue("pg_migrated")
    db = _shared_databases.setdefault(url, Database(url))
    db.dispose()
    _empty(db)
    return url


# Every id sequence of the schema back to 1 (setval is immediate and writes no file).
_RESTART_IDS = (
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def _empty(db: Database) -> None:
    """Every table emptied and every id back to 1, as TRUNCATE ... RESTART IDENTITY would, but with DELETE: a
    TRUNCATE makes new files for every table and index and syncs them at commit (about 170 ms for this schema
    here, on every PostgreSQL test), where deleting a test's few rows takes a few ms. Foreign-key triggers are
    off for it (``session_replication_role``), so neither the order nor the cycles between tables matter."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in Base.metadata.sorted_tables:
            conn.execute(table.delete())
        conn.exec_driver_sql(_RESTART_IDS)


@pytest.fixture
def database(db_url: str, _shared_databases: dict[str, Database]) -> Iterator[Database]:
    db = _shared_databases.setdefault(db_url, Database(db_url))
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(scope="session")
def _shared_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, dict[str, object]]:
    """One app per test process: building the OpenAPI document for every blueprint is most of what
    ``create_app`` costs (about 60 ms), and half the suite's tests need an app."""
    from recall.web import create_app

    placeholder = Database(f"sqlite:///{tmp_path_factory.mktemp('app') / 'unused.db'}")  # replaced per test
    shared = create_app("test", database=placeholder, clock=FixedClock(T0))
    placeholder.dispose()
    return shared, dict(shared.config)


@pytest.fixture
def app(_shared_app: tuple[Flask, dict[str, object]], database: Database, clock: FixedClock) -> Flask:
    """The test-configured app, speaking to this test's database with this test's clock; settings a
    previous test changed are put back."""
    shared, pristine = _shared_app
    shared.config.clear()
    shared.config.update(pristine)
    shared.extensions["recall.db"], shared.extensions["recall.clock"] = database, clock
    return shared


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(database: Database, clock: FixedClock) -> World:
    """Two clinics: "a" with a manager, two front-desk admins, two operators, providers, services and
    patients; "b" with its own manager, front desk, operator and patient, to prove isolation."""
    return make_world(database, clock)


@pytest.fixture
def people(world: World) -> dict[str, Actor]:
    """Clinic a's staff as actors, by the names the world gives them."""
    return {key: actor_of(member) for key, member in world.a.staff.items()}


# The stand-in's account, unless the requesting module names its own ACCOUNT and TOKEN (one whose app checks
# signatures with its own token does); GATEWAY_TIMEOUT in a module sets how long its gateway waits for an answer.
STANDIN_ACCOUNT, STANDIN_TOKEN = "AC" + "0" * 32, "standin-auth-token"
GATEWAY_TIMEOUT = 2.0


def _twilio_account(request: pytest.FixtureRequest) -> tuple[str, str]:
    return getattr(request.module, "ACCOUNT", STANDIN_ACCOUNT), getattr(request.module, "TOKEN", STANDIN_TOKEN)


@pytest.fixture
def standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    """The local Twilio stand-in (integrations/twilio/standin.py), serving over HTTP for this test."""
    account, token = _twilio_account(request)
    with StandIn(auth_token=token, account_sid=account) as server:
        yield server


@pytest.fixture
def gateway(request: pytest.FixtureRequest, standin: StandIn) -> Iterator[TwilioGateway]:
    """The real Twilio SDK, through TwilioGateway, pointed at the stand-in."""
    account, token = _twilio_account(request)
    timeout = getattr(request.module, "GATEWAY_TIMEOUT", GATEWAY_TIMEOUT)
    client = TwilioGateway(account, token, base_url=standin.base_url, timeout=timeout)
    yield client
    client.close()
