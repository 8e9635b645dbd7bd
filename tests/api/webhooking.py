"""What the webhook tests share: the account and number they run under, the app with its webhooks, and that app
served on a socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from recall.web import create_app, webhooks
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    DEFAULT_FROM,
    OFFSET,
    SV_PHONE,
    credit_kinds,
    make_reminder,
    new_sid,
    reminders_of,
    send_from,
    status_of,
    tasks_of,
    world,
)

TOKEN = "webhook-test-token"
ACCOUNT = "AC" + "7" * 32
CLINIC_NUMBER = "+46850000000"
HOOKS = webhooks.PREFIX


def webhook_app(database: Any, clock: Any, **config: Any) -> Flask:
    app = create_app(
        "test",
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": "",
            "TWILIO_DEFAULT_FROM": DEFAULT_FROM,
            **config,
        },
        clock=clock,
        database=database,
    )
    if "twilio_webhooks" not in app.blueprints:  # until the factory registers it
        app.register_blueprint(webhooks.blp)
    return app


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    (thread := threading.Thread(target=server.serve_forever, daemon=True)).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
