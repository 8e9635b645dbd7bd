"""Webhooks to the CRM through the outbox: what each use case announces, in its own transaction; signed
deliveries to a real receiver on 127.0.0.1; the order per resource; retries on the schedule; 410 and exhaustion
disable the endpoint and the manager sees why. On every configured database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from integrations.webhooks.sender import HttpWebhookSender
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.events import endpoints
from recall.events.delivery import SCHEDULE, Deliverer, DeliverySettings
from recall.events.log import replay_failed
from recall.events.outbox import emit
from recall.events.tables import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from recall.events.types import EventType, Resource, ResourceType
from recall.queue.attempts import AttemptInput, Outcome, log_attempt
from recall.reminders.patient_edits import update_patient
from recall.visits import booking_outcomes, bookings
from recall.visits.bookings import BookingRequest
from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.factories import future, make_booking, make_task
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def quiet(database: Database, clinic_id: int) -> None:
    """The databases are shared by the session's tests: other clinics' deliveries are not this test's to send."""
    with database.writer() as s:
        s.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.clinic_id != clinic_id, WebhookDelivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED)
        )
        s.commit()


def register(database, clock, people, receiver, types=None) -> int:
    with database.writer() as s:
        endpoint, secret = endpoints.create_endpoint(
            s, clock, people["manager"], {"url": receiver.url, "event_types": types or list(EventType)}, None
        )
    receiver.secret = secret
    return endpoint.id


def deliverer(database, clock, worker="test-worker", concurrency=4) -> Deliverer:
    return Deliverer(
        database, clock, HttpWebhookSender(timeout=5), None, DeliverySettings(worker_id=worker, concurrency=concurrency)
    )


def drain(database, clock, clinic_id) -> int:
    quiet(database, clinic_id)
    d = deliverer(database, clock)
    try:
        return d.drain()
    finally:
        d.close()


def events(database, clinic_id) -> list[tuple[str, str]]:
    with database.reader() as s:
        rows = s.execute(
            sa.select(OutboxEvent.type, OutboxEvent.resource_type)
            .where(OutboxEvent.clinic_id == clinic_id)
            .order_by(OutboxEvent.id)
        )
        return [(t, r) for t, r in rows]


def types_of(database, clinic_id) -> list[str]:
    return [t for t, _ in events(database, clinic_id)]


def test_a_booking_reaches_a_real_receiver_signed_per_standard_webhooks_without_patient_data(
    database, clock, world, people, receiver
):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver)
    booking = make_booking(database, clock, world.a)
    assert drain(database, clock, clinic) >= 2
    got = {a.type: a for a in receiver.arrivals}
    assert set(got) == {"booking.created", "credit.pending"}
    assert all(a.verified for a in receiver.arrivals)
    created = got["booking.created"].body
    assert created["data"]["id"] == booking.id and created["data"]["object"] == "booking"
    assert created["data"]["status"] == "booked" and created["data"]["channel"] == "phone"
    text = json.dumps([a.body for a in receiver.arrivals])
    patient = world.a.patients[0]
    assert patient.full_name not in text and patient.phone_e164 not in text and patient.phone_e164[1:] not in text
    with database.reader() as s:
        statuses = set(s.scalars(sa.select(WebhookDelivery.status).where(WebhookDelivery.clinic_id == clinic)))
    assert statuses == {DeliveryStatus.DELIVERED}


def test_every_booking_change_is_announced_by_its_use_case(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver)
    op = people["operator"]
    b1 = make_booking(database, clock, world.a)
    with database.writer() as s:
        bookings.confirm_booking(s, clock, op, b1.id)
    with database.writer() as s:
        bookings.move_booking(s, clock, op, b1.id, start_at=future(clock, days=8))
    with database.writer() as s:
        booking_outcomes.cancel_booking(s, clock, op, b1.id, "the patient asked")
    b2 = make_booking(database, clock, world.a, start_at=clock.now() + timedelta(minutes=30))
    with database.writer() as s:
        booking_outcomes.mark_attended(s, clock, people["frontdesk"], b2.id)
    assert types_of(database, clinic) == [
        "booking.created",
        "credit.pending",
        "booking.confirmed",
        "booking.moved",
        "booking.cancelled",
        "credit.void",
        "booking.created",
        "credit.pending",
        "booking.attended",
        "credit.earned",
    ]


def test_a_no_show_voids_the_credit_and_says_so(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver)
    earlier = FixedClock(clock.now() - timedelta(hours=3))
    b = make_booking(database, earlier, world.a, start_at=clock.now() - timedelta(hours=1))
    with database.writer() as s:
        booking_outcomes.mark_no_show(s, clock, people["frontdesk"], b.id)
    seen = types_of(database, clinic)
    assert seen.index("booking.no_show") < seen.index("credit.void")


def test_tasks_attempts_and_opt_outs_are_announced(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver)
    desk = people["frontdesk"]
    with database.writer() as s:
        visit = check_in(s, clock, desk, patient_id=world.a.patients[1].id, service_id=world.a.services[0].id)
    with database.writer() as s:
        checkout(s, clock, desk, visit.id, CheckoutRequest(follow_up=FollowUp.DECLINED))
    assert types_of(database, clinic)[-1] == "recall_task.opened"
    task = make_task(database, clock, clinic, world.a.patients[0].id, leased_to=world.a.staff["operator"].id)
    with database.writer() as s:
        log_attempt(
            s,
            clock,
            people["operator"],
            task.id,
            AttemptInput(outcome=Outcome.DECLINED, duration_seconds=30, decline_reason="not now"),
        )
    seen = types_of(database, clinic)
    assert seen[-3:] == ["recall_task.opened", "recall_task.closed", "attempt.logged"]
    with database.writer() as s:
        update_patient(s, clock, people["operator"], world.a.patients[0].id, {"opted_out": True})
    with database.writer() as s:
        update_patient(s, clock, people["operator"], world.a.patients[0].id, {"opted_out": False})
    seen = types_of(database, clinic)
    assert "patient.opted_out" in seen and seen[-1] == "patient.opted_in"
    drain(database, clock, clinic)
    closed = next(a.body for a in receiver.arrivals if a.type == "recall_task.closed")
    assert closed["data"]["close_reason"] == "declined" and closed["data"]["outcome"] == "closed"
    assert all(a.verified for a in receiver.arrivals)


def test_a_rolled_back_change_announces_nothing(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver)
    request = BookingRequest(
        patient_id=world.a.patients[0].id, service_id=world.a.services[0].id, start_at=future(clock), channel="phone"
    )
    with database.writer() as s:
        bookings.book(s, clock, people["operator"], request)
        assert types_of_in(s, clinic) == ["booking.created", "credit.pending"]  # written, in the change's transaction
        s.rollback()
    assert types_of(database, clinic) == []
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).where(WebhookDelivery.clinic_id == clinic)) == 0


def types_of_in(session, clinic_id) -> list[str]:
    return list(
        session.scalars(sa.select(OutboxEvent.type).where(OutboxEvent.clinic_id == clinic_id).order_by(OutboxEvent.id))
    )


def test_a_change_reads_the_endpoints_once_and_the_next_transaction_sees_a_new_one(
    database, clock, world, people, receiver
):
    clinic = world.a.clinic.id
    reads = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        if "FROM webhook_endpoints" in statement:
            reads.append(statement)

    request = BookingRequest(
        patient_id=world.a.patients[0].id, service_id=world.a.services[0].id, start_at=future(clock), channel="phone"
    )
    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.writer() as s:
            bookings.book(s, clock, people["operator"], request)  # two events: the booking and its credit
            assert len(reads) == 1
            s.commit()
            register(database, clock, people, receiver)  # meanwhile, in another transaction
            later = BookingRequest(
                patient_id=world.a.patients[1].id,
                service_id=world.a.services[0].id,
                start_at=future(clock),
                channel="phone",
            )
            bookings.book(s, clock, people["operator"], later)
            s.commit()
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    assert types_of(database, clinic) == ["booking.created", "credit.pending"]  # the second booking's, not the first's
    assert len(reads) == 3  # the first booking's, the registration's limit check, the second booking's


def test_an_endpoint_gets_only_the_types_it_picked_and_a_disabled_one_nothing(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    picked = register(database, clock, people, receiver, types=[EventType.CREDIT_PENDING])
    off = register(database, clock, people, receiver)
    with database.writer() as s:
        endpoints.update_endpoint(s, clock, people["manager"], off, {"enabled": False})
    make_booking(database, clock, world.a)
    with database.reader() as s:
        rows = s.execute(
            sa.select(WebhookDelivery.endpoint_id, WebhookDelivery.event_type).where(
                WebhookDelivery.clinic_id == clinic
            )
        ).all()
    assert [tuple(r) for r in rows] == [(picked, "credit.pending")]


def test_a_later_event_of_a_booking_waits_while_an_earlier_one_is_retried(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver, types=[EventType.BOOKING_CREATED, EventType.BOOKING_CONFIRMED])
    receiver.answer = lambda n: 500 if n == 0 else 200
    b = make_booking(database, clock, world.a)
    with database.writer() as s:
        bookings.confirm_booking(s, clock, people["operator"], b.id)
    drain(database, clock, clinic)
    assert [a.type for a in receiver.arrivals] == ["booking.created"]  # failed; the confirmation waits behind it
    clock.advance(SCHEDULE[0])
    drain(database, clock, clinic)
    arrivals = receiver.arrivals
    assert [a.type for a in arrivals] == ["booking.created", "booking.created", "booking.confirmed"]
    assert arrivals[0].message_id == arrivals[1].message_id != arrivals[2].message_id


def test_a_receiver_answering_500_is_retried_on_the_schedule_then_disabled_and_the_manager_told(
    database, clock, world, people, receiver, client
):
    clinic = world.a.clinic.id
    endpoint_id = register(database, clock, people, receiver, types=[EventType.BOOKING_CREATED])
    receiver.answer = lambda _n: 500
    make_booking(database, clock, world.a)
    start = clock.now()
    sent_at = []
    for wait in (None, *SCHEDULE):
        if wait is not None:
            clock.advance(wait - timedelta(seconds=1))
            drain(database, clock, clinic)
            assert len(receiver.arrivals) == len(sent_at), "retried before its time"
            clock.advance(timedelta(seconds=1))
        drain(database, clock, clinic)
        sent_at.append(clock.now())
        assert len(receiver.arrivals) == len(sent_at)
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:], strict=False)]
    assert gaps == list(SCHEDULE) and sent_at[-1] - start > timedelta(hours=24)
    assert len({a.message_id for a in receiver.arrivals}) == 1 and all(a.verified for a in receiver.arrivals)
    with database.reader() as s:
        endpoint = s.get(WebhookEndpoint, endpoint_id)
        delivery = s.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == len(SCHEDULE) + 1
    assert delivery.last_status_code == 500
    assert not endpoint.enabled and endpoint.disabled_by_system
    assert "every attempt" in endpoint.disabled_reason and "500" in endpoint.disabled_reason
    token = world.a.tokens["manager"]
    answer = client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json["enabled"] is False and answer.json["disabled_by_system"]
    log = client.get(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert log["items"][0]["status"] == "failed" and log["items"][0]["attempts"] == 8
    assert log["items"][0]["last_status_code"] == 500


def test_410_disables_the_endpoint_at_once_and_a_replay_after_enabling_delivers(
    database, clock, world, people, receiver
):
    clinic = world.a.clinic.id
    endpoint_id = register(database, clock, people, receiver, types=[EventType.BOOKING_CREATED])
    receiver.answer = lambda n: 410 if n == 0 else 200
    make_booking(database, clock, world.a)
    drain(database, clock, clinic)
    with database.reader() as s:
        endpoint = s.get(WebhookEndpoint, endpoint_id)
        delivery = s.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    assert not endpoint.enabled and "410" in endpoint.disabled_reason and delivery.status is DeliveryStatus.FAILED
    make_booking(database, clock, world.a, days=9)  # while disabled: not queued for it
    with database.writer() as s:
        endpoints.update_endpoint(s, clock, people["manager"], endpoint_id, {"enabled": True})
    with database.writer() as s:
        assert replay_failed(s, clock, people["manager"], endpoint_id, clock.now().replace(year=2020)) == 1
    drain(database, clock, clinic)
    assert len(receiver.arrivals) == 2 and receiver.arrivals[0].message_id == receiver.arrivals[1].message_id


def test_two_deliverers_at_once_deliver_each_event_exactly_once(database, clock, world, people, receiver):
    clinic = world.a.clinic.id
    register(database, clock, people, receiver, types=[EventType.BOOKING_CREATED, EventType.CREDIT_PENDING])
    receiver.latency_s = 0.005
    with database.writer() as s:
        for i in range(120):
            emit(
                s,
                clinic,
                EventType.BOOKING_CREATED,
                Resource(ResourceType.BOOKING, 10_000 + i % 40),
                {},
                now=clock.now(),
            )
        s.commit()
    quiet(database, clinic)
    workers = [deliverer(database, clock, worker=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in workers:
        w.close()
    ids = receiver.ids()
    assert len(ids) == 120 and len(set(ids)) == 120
    order: dict[int, list[str]] = {}
    for a in receiver.arrivals:
        order.setdefault(a.body["data"]["id"], []).append(a.message_id)
    with database.reader() as s:
        expected: dict[int, list[str]] = {}
        for rid, uid in s.execute(
            sa.select(OutboxEvent.resource_id, OutboxEvent.uid)
            .where(OutboxEvent.clinic_id == clinic)
            .order_by(OutboxEvent.id)
        ):
            expected.setdefault(rid, []).append(uid)
    assert order == expected  # in order per booking, whichever worker sent each
