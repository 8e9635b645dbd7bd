"""The delivery log a manager reads per endpoint, and replays: one delivery, or an endpoint's failures since.

A replay puts a delivery back in the queue as new (its attempts start over, due now) with the event's own
``webhook-id`` and body, so a receiver that already has it recognises it. A replay is sent as soon as it is due:
it does not hold back events of the same booking queued after it (those were already delivered, or wait only for
their own predecessor). A disabled endpoint's replays wait until it is enabled again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import locking
from recall.common.errors import Conflict, NotFound
from recall.events.endpoints import get_endpoint
from recall.events.tables import DeliveryStatus, WebhookDelivery


def list_deliveries(
    session: Session, clinic_id: int, endpoint_id: int, status: DeliveryStatus | None = None
) -> sa.Select[WebhookDelivery]:
    """Newest first."""
    get_endpoint(session, clinic_id, endpoint_id)
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt.order_by(WebhookDelivery.id.desc())


def _again(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    delivery.lease_expires_at = delivery.claimed_by = None


def replay(session: Session, clock: Clock, actor: Actor, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again (delivered or failed), or a pending one now instead of at its retry; commits."""
    actor.require(Role.MANAGER)
    delivery = session.scalar(
        locking(
            sa.select(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.clinic_id == actor.clinic_id
            )
        )
    )
    if delivery is None:
        raise NotFound("webhook delivery", delivery_id)
    if delivery.status is DeliveryStatus.DELIVERING:
        raise Conflict(f"webhook delivery {delivery.id} is being sent right now", field="delivery_id")
    _again(delivery, clock.now())
    session.commit()
    return delivery


def replay_failed(session: Session, clock: Clock, actor: Actor, endpoint_id: int, since: datetime) -> int:
    """Every failed delivery of the endpoint queued at or after ``since``, again; returns how many. Commits."""
    actor.require(Role.MANAGER)
    endpoint = get_endpoint(session, actor.clinic_id, endpoint_id, for_update=True)
    now = clock.now()
    count = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.status == DeliveryStatus.FAILED,
                WebhookDelivery.created_at >= since,
            )
            .values(
                status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None, claimed_by=None
            )
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.commit()
    return count or 0
