"""Webhook workers killed with SIGKILL mid-delivery: no event is lost, and the receiver sees each at least once,
always under the same webhook-id. Real ``recall worker`` processes, a real receiver checking every signature
against the wall clock (``Webhook.verify``), on every configured database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.events import endpoints
from recall.events.outbox import emit
from recall.events.tables import DeliveryStatus, OutboxEvent, WebhookDelivery
from recall.events.types import EventType, Resource, ResourceType
from tests.factories import actor_of
from tests.integration._processes import Worker, wait_until, worker_env
from tests.integration.test_webhooks_outbox import quiet
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.db

EVENTS = 400
CONCURRENCY = 4
LEASE_S = 2


def _delivered(database: Database, clinic_id: int) -> int:
    with database.reader() as s:
        return (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.clinic_id == clinic_id, WebhookDelivery.status == DeliveryStatus.DELIVERED)
            )
            or 0
        )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_worker_killed_mid_delivery_loses_no_event_and_resends_under_the_same_id(
    database: Database, db_url: str, world, tmp_path: Path
) -> None:
    clock = SystemClock()
    clinic = world.a.clinic.id
    receiver = Receiver(strict=True, latency_s=0.01).start()
    try:
        with database.writer() as s:
            _, receiver.secret = endpoints.create_endpoint(
                s,
                clock,
                actor_of(world.a.staff["manager"]),
                {"url": receiver.url, "event_types": list(EventType)},
                None,
            )
        with database.writer() as s:
            for i in range(EVENTS):  # 100 bookings, four events each: the order per booking is checked too
                emit(
                    s,
                    clinic,
                    EventType.BOOKING_CREATED,
                    Resource(ResourceType.BOOKING, 50_000 + i % 100),
                    {"n": i},
                    now=clock.now(),
                )
            s.commit()
        quiet(database, clinic)
        env = {
            **worker_env(db_url, "http://127.0.0.1:9"),
            "WEBHOOK_CONCURRENCY": str(CONCURRENCY),
            "WEBHOOK_LEASE_SECONDS": str(LEASE_S),
            "WEBHOOK_TIMEOUT_SECONDS": "1",
            "WEBHOOK_INTERVAL_SECONDS": "0.2",
        }
        workers = [Worker.start(env, tmp_path / f"w{i}.log") for i in range(2)]
        try:
            wait_until(lambda: len(receiver.arrivals) >= 60, 60, "the first deliveries", workers)
            workers[0].kill()  # SIGKILL, in the middle of its batch
            wait_until(lambda: _delivered(database, clinic) == EVENTS, 120, "every delivery", workers)
        finally:
            for w in workers:
                if w.proc.poll() is None:
                    w.stop()
    finally:
        receiver.stop()
    with database.reader() as s:
        uids = [
            uid
            for (uid,) in s.execute(
                sa.select(OutboxEvent.uid).where(OutboxEvent.clinic_id == clinic).order_by(OutboxEvent.id)
            )
        ]
    seen = Counter(receiver.ids())
    assert set(seen) == set(uids), "an event was lost"
    assert all(a.verified for a in receiver.arrivals)
    again = sum(n - 1 for n in seen.values())
    # Only what the killed worker had in flight goes twice (its batch, at most CONCURRENCY events).
    assert again <= CONCURRENCY, seen.most_common(CONCURRENCY + 1)
    # The order per booking held: each booking's events first arrived in the order they were emitted.
    first: dict[int, list[str]] = {}
    ordered = set()
    for a in receiver.arrivals:
        if a.message_id not in ordered:
            ordered.add(a.message_id)
            first.setdefault(a.body["data"]["id"], []).append(a.message_id)
    by_booking: dict[int, list[str]] = {}
    for i, uid in enumerate(uids):
        by_booking.setdefault(50_000 + i % 100, []).append(uid)
    assert first == by_booking
