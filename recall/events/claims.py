"""Leasing due deliveries to a worker: one committed transaction, in order per resource and endpoint.

As the reminders' claim (``recall.reminders.leases``): due deliveries become ``delivering`` under a lease with
the worker's id and one more attempt (a pick, then ``UPDATE ... WHERE id IN (picked) ... RETURNING``), committed
before anything is sent. On PostgreSQL the due rows are picked ``FOR UPDATE SKIP LOCKED`` (claimers never wait for each
other); on SQLite the write runs inside ``BEGIN IMMEDIATE`` (``Database.connection(write=True)``), one writer at
a time, so the conditional UPDATE is the whole claim.

Due: ``pending`` and its time has come (a ``delivering`` one whose lease lapsed, its worker dead or stalled, is
made ``pending`` again first, in the claim's transaction: at-least-once, under the same ``webhook-id``), for an
enabled endpoint, whose predecessor (``after_id``: the delivery of the same resource to the same endpoint queued
just before it) is finished. That keeps the order: a later event of a booking is not sent while an earlier one
waits for its retry, and at most one event per resource and endpoint is in flight.
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


def claim_statement(postgres: bool) -> sa.Select[int]:
    d = WebhookDelivery
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    due = (
        sa.select(d.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            d.status == DeliveryStatus.PENDING,
            d.next_attempt_at <= now,
            ~sa.exists().where(_EARLIER.id == d.after_id, _EARLIER.status.in_(UNFINISHED)),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(sa.bindparam("limit"))
    )
    if postgres:
        due = due.with_for_update(skip_locked=True, of=d)
    return due


# The lease, on the rows just picked (and, on PostgreSQL, locked): a second statement of the same transaction,
# so the planner never re-runs the locking, limited pick once per row of the UPDATE.
_LEASE = (
    sa.update(WebhookDelivery)
    .where(WebhookDelivery.id.in_(sa.bindparam("ids", expanding=True)))
    .values(
        status=DeliveryStatus.DELIVERING,
        lease_expires_at=sa.bindparam("until"),
        claimed_by=sa.bindparam("worker"),
        attempts=WebhookDelivery.attempts + 1,
    )
    .returning(WebhookDelivery.id, WebhookDelivery.attempts)
)


# A lease that lapsed (its worker died or stalled): due again, first, in the claim's own transaction. Through the
# status index it touches only ``delivering`` rows (at most what the workers hold).
_LAPSED = (
    sa.update(WebhookDelivery)
    .where(WebhookDelivery.status == DeliveryStatus.DELIVERING, WebhookDelivery.lease_expires_at < sa.bindparam("now"))
    .values(status=DeliveryStatus.PENDING, claimed_by=None, lease_expires_at=None)
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
    database: Database, statement: sa.Select[int], now: datetime, limit: int, lease: timedelta, worker_id: str
) -> list[Job]:
    """Lease up to ``limit`` due deliveries to ``worker_id``, committed, with what sending each needs."""
    with database.connection(write=True) as conn:
        conn.execute(_LAPSED, {"now": now})
        picked = list(conn.scalars(statement, {"now": now, "limit": limit}))
        lease_of = {"ids": picked, "until": now + lease, "worker": worker_id}
        claimed = conn.execute(_LEASE, lease_of).all() if picked else []
        jobs = [Job(*row) for row in conn.execute(_JOBS, {"ids": [row[0] for row in claimed]})] if claimed else []
        conn.commit()
    return jobs
