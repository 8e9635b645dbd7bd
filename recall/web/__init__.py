"""The web package: the app factory, blueprints, error mapping and the CLI."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import config
from recall.common.clock import Clock, SystemClock
from recall.common.db import Database
from recall.common.logs import configure as configure_logging
from recall.web import (
    bookings,
    catalog,
    cli,
    clinic,
    console,
    contract,
    docs,
    earnings,
    errors,
    exports,
    fhir,
    health,
    imports,
    integration,
    metrics,
    outcome_reports,
    patients,
    privacy,
    queue_stats,
    recall_tasks,
    reminder_policy,
    reminders,
    reports,
    request_log,
    staff,
    targets,
    visits,
    webhook_endpoints,
    webhooks,
)
from recall.web.common import MAX_ID, close_session


class BoundedInt(IntegerConverter):
    """``<int:...>`` in a path. An id larger than an id column holds names nothing, so it becomes 0,
    which no row has: the request gets the usual 404 instead of a database overflow."""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


class Api(flask_smorest.Api):
    """flask-smorest's Api with recall's error shape and the document's contract (recall/web/contract.py)."""

    ERROR_SCHEMA = errors.ErrorSchema

    def __init__(self, app: Flask) -> None:
        super().__init__(app, spec_kwargs={"marshmallow_plugin": contract.Plugin()})
        self.spec.options[contract.WEBHOOKS_KEY] = contract.twilio_webhooks()

    def _register_responses(self) -> None:
        contract.register_responses(self.spec, self.ERROR_SCHEMA, self.DEFAULT_RESPONSE_CONTENT_TYPE)

    def handle_http_exception(self, error: Any) -> Any:
        return errors.handle_http_exception(error)


def create_app(
    config_name: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
) -> Flask:
    """The recall app: settings for ``config_name`` (default: ``$RECALL_ENV``) from the environment, then
    ``overrides``; ``clock`` and ``database`` replace the system clock and the database the settings name."""
    settings = config.load(config_name, overrides)
    config.check(settings)  # production without its Twilio account or public URL stops here, saying what to set
    configure_logging(settings["LOG_LEVEL"], settings["LOG_FORMAT"])
    app = Flask("recall")
    app.config.update(settings)
    request_log.install(app)
    metrics.install(app)
    app.extensions["recall.db"] = database or Database(
        app.config["DATABASE_URL"],
        busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_size=app.config["DB_POOL_SIZE"],
        max_overflow=app.config["DB_MAX_OVERFLOW"],
    )
    app.extensions["recall.clock"] = clock or SystemClock()
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    app.teardown_appcontext(close_session)
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "info": {
                "description": "recall: visits, bookings split by role, recall tasks and the credit ledger."
                + contract.RANGES_SECTION
                + contract.WEBHOOKS_SECTION
            },
        },
    )

    app.url_map.converters["int"] = BoundedInt
    api = Api(app)
    api.register_converter(BoundedInt, lambda _converter: {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    for module in (
        clinic,
        integration,
        reminder_policy,
        staff,
        patients,
        catalog,
        visits,
        bookings,
        recall_tasks,
        queue_stats,
        earnings,
        reminders,
        exports,
        imports,
        privacy,
        outcome_reports,
        targets,
        webhook_endpoints,
        reports,
    ):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    for blueprint in fhir.BLUEPRINTS:  # the EHR over FHIR (recall.web.fhir)
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(webhooks.blp)  # Twilio's callbacks: signed by Twilio, in the document's x-twilio-webhooks
    console.register(app)  # the pages, after the API: its blueprints keep the API's JSON errors
    errors.register(app)
    health.register(app)
    docs.register(app)
    cli.register(app)
    return app
