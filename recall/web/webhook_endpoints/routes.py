"""Webhook endpoints: where the clinic's events go, signed; the delivery log and replays. Managers only."""

from __future__ import annotations

from typing import Any

from flask import current_app

from recall.events import endpoints, log
from recall.events.tables import WebhookEndpoint
from recall.events.types import DESCRIPTIONS, EventType
from recall.reminders.accounts import Sealer
from recall.web.auth import manager_only
from recall.web.common import PageArgs, actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint
from recall.web.webhook_endpoints.schemas import (
    DeliveryListArgs,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    EventTypeSchema,
    ReplayedSchema,
    ReplayFailedSchema,
)

blp = Blueprint(
    "webhook_endpoints", __name__, description="Webhooks to the clinic's CRM: endpoints, deliveries, replays"
)


def _sealer() -> Sealer | None:
    return Sealer.from_setting(current_app.config.get("TWILIO_CREDENTIALS_KEY"))


class _Issued:
    """An endpoint with the secret just issued (the stored one is sealed and never shown)."""

    def __init__(self, endpoint: WebhookEndpoint, secret: str) -> None:
        self._endpoint, self.issued_secret = endpoint, secret

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoint, name)


@blp.route("/webhooks/event-types", methods=["GET"])
@manager_only
@blp.response(200, EventTypeSchema(many=True))
def event_types() -> Any:
    """Every event type an endpoint may receive."""
    return [{"type": t, "description": DESCRIPTIONS[t]} for t in EventType]


@blp.route("/webhooks/endpoints", methods=["GET"])
@manager_only
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(EndpointSchema))
def list_endpoints(args: dict[str, Any]) -> Any:
    return page_of(endpoints.list_endpoints(actor().clinic_id), args)


@blp.route("/webhooks/endpoints", methods=["POST"])
@manager_only
@blp.arguments(EndpointCreateSchema)
@blp.response(201, EndpointWithSecretSchema)
def create_endpoint(data: dict[str, Any]) -> Any:
    """Register an endpoint; the answer carries its signing secret, this once."""
    endpoint, secret = endpoints.create_endpoint(session(), clock(), actor(), data, _sealer())
    return _Issued(endpoint, secret)


@blp.route("/webhooks/endpoints/<int:endpoint_id>", methods=["GET"])
@manager_only
@blp.response(200, EndpointSchema)
def get_endpoint(endpoint_id: int) -> Any:
    return endpoints.get_endpoint(session(), actor().clinic_id, endpoint_id)


@blp.route("/webhooks/endpoints/<int:endpoint_id>", methods=["PATCH"])
@manager_only
@blp.arguments(EndpointUpdateSchema)
@blp.response(200, EndpointSchema)
def update_endpoint(data: dict[str, Any], endpoint_id: int) -> Any:
    """Change the address, description or types, or enable/disable it (enabling clears the reason)."""
    return endpoints.update_endpoint(session(), clock(), actor(), endpoint_id, data)


@blp.route("/webhooks/endpoints/<int:endpoint_id>", methods=["DELETE"])
@manager_only
@blp.response(200, EndpointSchema)
def delete_endpoint(endpoint_id: int) -> Any:
    """Remove the endpoint and its delivery log; nothing more is sent to it."""
    return endpoints.delete_endpoint(session(), actor(), endpoint_id)


@blp.route("/webhooks/endpoints/<int:endpoint_id>/rotate-secret", methods=["POST"])
@manager_only
@blp.response(200, EndpointWithSecretSchema)
def rotate_secret(endpoint_id: int) -> Any:
    """A new signing secret, used from the next attempt on; shown this once."""
    endpoint, secret = endpoints.rotate_secret(session(), clock(), actor(), endpoint_id, _sealer())
    return _Issued(endpoint, secret)


@blp.route("/webhooks/endpoints/<int:endpoint_id>/deliveries", methods=["GET"])
@manager_only
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, page_schema(DeliverySchema))
def list_deliveries(args: dict[str, Any], endpoint_id: int) -> Any:
    """The endpoint's delivery log, newest first: status, attempts, last answer, latency, next attempt."""
    return page_of(log.list_deliveries(session(), actor().clinic_id, endpoint_id, args.get("status")), args)


@blp.route("/webhooks/endpoints/<int:endpoint_id>/replay-failed", methods=["POST"])
@manager_only
@blp.arguments(ReplayFailedSchema)
@blp.response(200, ReplayedSchema)
def replay_failed(data: dict[str, Any], endpoint_id: int) -> Any:
    """Queue again every failed delivery of the endpoint since an instant (same webhook-id and body)."""
    return {"replayed": log.replay_failed(session(), clock(), actor(), endpoint_id, data["since"])}


@blp.route("/webhooks/deliveries/<int:delivery_id>/replay", methods=["POST"])
@manager_only
@blp.response(200, DeliverySchema)
def replay_delivery(delivery_id: int) -> Any:
    """Send one delivery again, now (same webhook-id and body); 409 while it is being sent."""
    return log.replay(session(), clock(), actor(), delivery_id)
