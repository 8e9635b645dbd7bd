"""The outbox's tables: events, the endpoints a manager registered, and one delivery per event and endpoint.

An event row is written once, with the exact JSON body every endpoint gets (so a retry sends the same bytes
under the same ``webhook-id``). A delivery is the event's journey to one endpoint: its status, its attempts,
when it is next due, the lease of the worker sending it, and what the receiver last answered.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.events.types import EventType


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # due at next_attempt_at (a first try, or a retry)
    DELIVERING = "delivering"  # leased to a worker; a lapsed lease makes it due again
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up: 410 Gone, or every attempt of the schedule failed


# Not finished: a later event of the same resource waits for these (to the same endpoint).
UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING)


class OutboxEvent(Base):
    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)  # the webhook-id, the same on every retry
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    type: Mapped[str] = mapped_column(sa.String(40))
    resource_type: Mapped[str] = mapped_column(sa.String(20))
    resource_id: Mapped[int] = mapped_column()
    payload: Mapped[str] = mapped_column(sa.Text)  # the body, exactly as sent
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_webhook_events_clinic", "clinic_id", "id"),)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.String(200))
    event_types: Mapped[str] = mapped_column(sa.Text)  # a JSON list of EventType values
    enabled: Mapped[bool] = mapped_column()
    # The signing secret (whsec_...): Fernet-sealed when a credentials key is configured, else as issued.
    secret: Mapped[str] = mapped_column(sa.Text)
    secret_sealed: Mapped[bool] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(300))
    disabled_by_system: Mapped[bool] = mapped_column()  # the worker gave up on it: the manager is told
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_webhook_endpoints_clinic", "clinic_id", "enabled"),)

    @property
    def types(self) -> list[EventType]:
        """The event types it subscribes to."""
        return [EventType(t) for t in json.loads(self.event_types)]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    resource_key: Mapped[str] = mapped_column(sa.String(40))  # "booking:12": the order is kept per key
    # The delivery of the same resource to the same endpoint queued just before this one: this one waits while
    # that one is unfinished (one primary-key probe per candidate, whatever the table's statistics say).
    after_id: Mapped[int | None] = mapped_column()
    status: Mapped[DeliveryStatus] = mapped_column(enum_column_type(DeliveryStatus, "webhook_delivery_status"))
    attempts: Mapped[int] = mapped_column()  # since it was queued (or last replayed); counted at the claim
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    last_latency_ms: Mapped[int | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    event: Mapped[OutboxEvent] = relationship(lazy="joined", innerjoin=True)

    @property
    def type(self) -> EventType:
        return EventType(self.event_type)

    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_order", "endpoint_id", "resource_key", "id"),
        sa.Index("ix_webhook_deliveries_log", "endpoint_id", "id"),
    )
