from __future__ import annotations

import marshmallow as ma

from recall.events.tables import DeliveryStatus
from recall.events.types import EventType
from recall.web.common import Id, Input, Instant, Output, PageArgs, strict_bool


class EndpointSchema(Output):
    id = Id()
    url = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    event_types = ma.fields.List(
        ma.fields.Enum(EventType, by_value=True), attribute="types", metadata={"description": "what it receives"}
    )
    enabled = ma.fields.Boolean()
    disabled_at = ma.fields.DateTime(allow_none=True)
    disabled_reason = ma.fields.String(
        allow_none=True, metadata={"description": "why it is disabled: by a manager, 410 Gone, or the retries ran out"}
    )
    disabled_by_system = ma.fields.Boolean(
        metadata={"description": "true: the worker gave up on it (410 Gone, or every retry failed); enable it again"}
    )
    failing_since = ma.fields.DateTime(
        allow_none=True, metadata={"description": "the first failed attempt since the last delivered one"}
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class EndpointWithSecretSchema(EndpointSchema):
    secret = ma.fields.String(
        attribute="issued_secret",
        metadata={"description": "the signing secret (whsec_...), Standard Webhooks; shown this once and never again"},
    )


class EndpointUpdateSchema(Input):
    url = ma.fields.String(
        validate=ma.validate.Length(min=1, max=500), metadata={"description": "an absolute http(s) address"}
    )
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    event_types = ma.fields.List(
        ma.fields.Enum(EventType, by_value=True),
        validate=ma.validate.Length(min=1, max=len(EventType)),
        metadata={"description": "the types it receives (GET /webhooks/event-types lists them)"},
    )
    enabled = strict_bool(metadata={"description": "false: nothing is sent; true again: the waiting ones resume"})


class EndpointCreateSchema(EndpointUpdateSchema):
    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "an absolute http(s) address"},
    )
    description = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))
    event_types = ma.fields.List(
        ma.fields.Enum(EventType, by_value=True),
        required=True,
        validate=ma.validate.Length(min=1, max=len(EventType)),
        metadata={"description": "the types it receives (GET /webhooks/event-types lists them)"},
    )
    enabled = strict_bool(load_default=True)


class DeliverySchema(Output):
    id = Id()
    endpoint_id = Id()
    event_id = Id()
    message_id = ma.fields.String(
        attribute="event.uid", metadata={"description": "the webhook-id header: the same on every attempt"}
    )
    event_type = ma.fields.Enum(EventType, by_value=True, attribute="type")
    resource = ma.fields.String(attribute="resource_key", metadata={"description": "what it is about: booking:12"})
    status = ma.fields.Enum(DeliveryStatus, by_value=True)
    attempts = ma.fields.Integer(metadata={"description": "attempts made since it was queued (or replayed)"})
    last_status_code = ma.fields.Integer(allow_none=True, metadata={"description": "null: no HTTP answer"})
    last_error = ma.fields.String(allow_none=True, metadata={"description": "why there was no answer"})
    last_latency_ms = ma.fields.Integer(allow_none=True)
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    next_attempt_at = ma.fields.DateTime(metadata={"description": "when it is due, while pending"})
    delivered_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class DeliveryListArgs(PageArgs):
    status = ma.fields.Enum(DeliveryStatus, by_value=True)


class ReplayFailedSchema(Input):
    since = Instant(required=True, metadata={"description": "failed deliveries queued at or after this instant"})


class ReplayedSchema(Output):
    replayed = ma.fields.Integer(metadata={"description": "how many deliveries are queued again"})


class EventTypeSchema(Output):
    type = ma.fields.Enum(EventType, by_value=True)
    description = ma.fields.String()
