"""Leasing due deliveries to a worker: one committed statement, in order per resource and endpoint.

As the reminders' claim (``recall.reminders.leases``): due deliveries become ``delivering`` under a lease with
the worker's id and one more attempt, in one ``UPDATE ... WHERE id IN (due) ... RETURNING`` that commits before
anything is sent. On PostgreSQL the due rows are picked ``FOR UPDATE SKIP LOCKED`` (claimers never wait for each
other); on SQLite the write runs inside ``BEGIN IMMEDIATE`` (``Database.connection(write=True)``), one writer at
a time, so the conditional UPDATE is the whole claim.

Due: ``pending`` and its time has come, or ``delivering`` under a lease that lapsed (its worker died or stalled:
at-least-once, it goes again under the same ``webhook-id``), for an enabled endpoint, with no earlier delivery of
the same resource to the same endpoint unfinished. That last rule keeps the order: a later event of a booking is
not sent while an earlier one waits for its retry, and at most one event per resource and endpoint is in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from recall.common.db import Database
from recall.events.tables import UNFINISHED, DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint

_EARLIER = aliased(WebhookDelivery, name="earlier")


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with what sending it needs."""

    delivery_id: int
    attempts: int
    endpoint_id: int
    url: str
    secret: str = field(repr=False)
    secret_sealed: bool
    message_id: str
    body: str = field(repr=False)


def claim_statement(postgres: bool) -> sa.Update:
    d = WebhookDelivery
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    due = (
        sa.select(d.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            sa.or_(
                sa.and_(d.status == DeliveryStatus.PENDING, d.next_attempt_at <= now),
                sa.and_(d.status == DeliveryStatus.DELIVERING, d.lease_expires_at < now),
            ),
            ~sa.exists().where(
                _EARLIER.endpoint_id == d.endpoint_id,
                _EARLIER.resource_key == d.resource_key,
                _EARLIER.id < d.id,
                _EARLIER.status.in_(UNFINISHED),
            ),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(sa.bindparam("limit"))
    )
    if postgres:
        due = due.with_for_update(skip_locked=True, of=d)
    return (
        sa.update(d)
        .where(d.id.in_(due.scalar_subquery()))
        .values(
            status=DeliveryStatus.DELIVERING,
            lease_expires_at=sa.bindparam("until"),
            claimed_by=sa.bindparam("worker"),
            attempts=d.attempts + 1,
        )
        .returning(d.id, d.attempts)
    )


_JOBS = (
    sa.select(
        WebhookDelivery.id,
        WebhookDelivery.attempts,
        WebhookEndpoint.id,
        WebhookEndpoint.url,
        WebhookEndpoint.secret,
        WebhookEndpoint.secret_sealed,
        OutboxEvent.uid,
        OutboxEvent.payload,
    )
    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
    .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
    .where(WebhookDelivery.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(WebhookDelivery.id)
)


def claim(
    database: Database, statement: sa.Update, now: datetime, limit: int, lease: timedelta, worker_id: str
) -> list[Job]:
    """Lease up to ``limit`` due deliveries to ``worker_id``, committed, with what sending each needs."""
    with database.connection(write=True) as conn:
        claimed = conn.execute(statement, {"now": now, "limit": limit, "until": now + lease, "worker": worker_id}).all()
        jobs = [Job(*row) for row in conn.execute(_JOBS, {"ids": [row[0] for row in claimed]})] if claimed else []
        conn.commit()
    return jobs
