"""The console: server-rendered pages where operators, the front desk and managers do their work.

One blueprint per role (``operator``, ``frontdesk``, ``manager``) plus ``access`` (signing in), each with its
templates and its translation catalog beside it; ``pages`` holds what they share (who is signed in, CSRF,
security headers, errors as pages), ``i18n`` the languages. The views call the same use cases as the API,
in-process; no rule of the domain lives in a view or a template.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect
from werkzeug.wrappers import Response

from recall.web.console import access, frontdesk, i18n, manager, operator
from recall.web.console.pages import csrf

# Scripts and styles: the console's own, in this package; served with the app, never from a CDN.
assets = Blueprint(
    "console_static", __name__, static_folder="static", static_url_path="/console/static", template_folder="templates"
)


def register(app: Flask) -> None:
    app.config.update(
        # The API is called with bearer tokens and Twilio signs its webhooks: only the console's blueprints
        # check CSRF (recall.web.console.pages), on every write.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed-in session
        WTF_CSRF_SSL_STRICT=app.config["CONSOLE_COOKIE_SECURE"],
        SESSION_COOKIE_NAME="recall_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE=app.config["CONSOLE_COOKIE_SAMESITE"],
        SESSION_COOKIE_SECURE=app.config["CONSOLE_COOKIE_SECURE"],
    )
    csrf.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(assets)
    for blueprint in (access.blp, operator.blp, frontdesk.blp, manager.blp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "root", _to_console)


def _to_console() -> Response:
    return redirect("/console/")
