"""Bookings through the use cases, on every configured database."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.common.actors import Actor, Role
from recall.common.errors import Conflict, Forbidden, ValidationError
from recall.credit.ledger import CreditEntry, CreditKind, entries_for_booking
from recall.credit.payplan import PlanTerms, load_terms, replace_plan
from recall.visits.booking_outcomes import cancel_booking, mark_attended, mark_no_show
from recall.visits.bookings import BookingStatus, Channel, Source, confirm_booking, move_booking
from tests.factories import future, make_booking


def _entries(database, booking_id):
    with database.reader() as s:
        return [(e.kind, e.amount_cents, e.staff_id) for e in entries_for_booking(s, booking_id)]


@pytest.mark.parametrize("channel", [Channel.PHONE, Channel.CHAT, Channel.SMS])
def test_a_remote_booking_is_the_operators_and_starts_pending(database, clock, world, people, channel):
    booking = make_booking(database, clock, world.a, by=people["operator"], channel=channel)
    assert (booking.credited_role, booking.credited_staff_id) == (Role.OPERATOR, people["operator"].staff_id)
    assert _entries(database, booking.id) == [(CreditKind.PENDING, 1000, people["operator"].staff_id)]


def test_an_in_person_booking_is_the_front_desks(database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["frontdesk"], channel=Channel.IN_PERSON)
    assert booking.credited_role is Role.FRONTDESK
    assert _entries(database, booking.id)[0][2] == people["frontdesk"].staff_id


@pytest.mark.parametrize("channel", [Channel.VOICE_REPLY, Channel.ONLINE])
def test_an_automated_booking_is_recorded_but_earns_nobody(database, clock, world, people, channel):
    booking = make_booking(database, clock, world.a, by=people["manager"], channel=channel)
    assert booking.credited_staff_id is None and booking.status is BookingStatus.BOOKED
    assert _entries(database, booking.id) == []


@pytest.mark.parametrize(
    "who,channel",
    [
        ("frontdesk", Channel.PHONE),
        ("frontdesk", Channel.SMS),
        ("operator", Channel.IN_PERSON),
        ("operator", Channel.ONLINE),
    ],
)
def test_nobody_records_a_booking_of_the_other_roles_territory(database, clock, world, people, who, channel):
    with pytest.raises(Forbidden):
        make_booking(database, clock, world.a, by=people[who], channel=channel)
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CreditEntry)) == 0


def test_a_manager_records_a_booking_on_behalf_of_an_operator(database, clock, world, people):
    booking = make_booking(
        database,
        clock,
        world.a,
        by=people["manager"],
        channel=Channel.PHONE,
        on_behalf_of_staff_id=people["operator2"].staff_id,
    )
    assert booking.credited_staff_id == people["operator2"].staff_id
    assert booking.created_by_id == people["manager"].staff_id


def test_a_manager_cannot_credit_a_phone_booking_to_the_front_desk(database, clock, world, people):
    with pytest.raises(ValidationError) as err:
        make_booking(
            database,
            clock,
            world.a,
            by=people["manager"],
            channel=Channel.PHONE,
            on_behalf_of_staff_id=people["frontdesk"].staff_id,
        )
    assert "on_behalf_of_staff_id" in err.value.fields


def test_overlapping_bookings_for_one_patient_conflict_but_back_to_back_ones_do_not(database, clock, world, people):
    start = future(clock)
    make_booking(database, clock, world.a, by=people["operator"], start_at=start)  # 30 minutes
    with pytest.raises(Conflict):
        make_booking(database, clock, world.a, by=people["operator"], start_at=start + timedelta(minutes=15))
    make_booking(database, clock, world.a, by=people["operator"], start_at=start + timedelta(minutes=30))


def test_a_cancelled_booking_frees_its_time(database, clock, world, people):
    first = make_booking(database, clock, world.a, by=people["operator"])
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], first.id, "patient asked")
    make_booking(database, clock, world.a, by=people["operator"])


def test_attending_earns_exactly_what_was_pending_even_after_the_plan_changes(database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["operator"])
    with database.writer() as s:
        replace_plan(
            s,
            clock,
            Actor.system(world.a.clinic.id),
            PlanTerms(5000, 5000, load_terms(s, world.a.clinic.id).recall_multiplier),
        )
    clock.set(booking.start_at)
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], booking.id)
    assert [(k, a) for k, a, _ in _entries(database, booking.id)] == [
        (CreditKind.PENDING, 1000),
        (CreditKind.EARNED, 1000),
    ]


@pytest.mark.parametrize("end", ["cancel", "no_show"])
def test_a_cancellation_or_no_show_voids_the_credit_and_keeps_the_pending_entry(database, clock, world, people, end):
    booking = make_booking(database, clock, world.a, by=people["operator"])
    with database.reader() as s:
        before = [(e.id, e.amount_cents, e.occurred_at) for e in entries_for_booking(s, booking.id)]
    with database.writer() as s:
        if end == "cancel":
            cancel_booking(s, clock, people["operator"], booking.id)
        else:
            clock.set(booking.start_at + timedelta(minutes=20))
            mark_no_show(s, clock, people["frontdesk"], booking.id)
    with database.reader() as s:
        entries = entries_for_booking(s, booking.id)
    assert [(e.id, e.amount_cents, e.occurred_at) for e in entries[:1]] == before
    assert [e.kind for e in entries] == [CreditKind.PENDING, CreditKind.VOID]


@pytest.mark.parametrize(
    "first,then",
    [("attend", "cancel"), ("cancel", "attend"), ("no_show", "attend"), ("attend", "no_show"), ("cancel", "confirm")],
)
def test_an_illegal_transition_is_a_conflict_and_adds_no_entry(database, clock, world, people, first, then):
    booking = make_booking(database, clock, world.a, by=people["operator"])
    clock.set(booking.start_at + timedelta(minutes=1))
    actions = {
        "attend": lambda s: mark_attended(s, clock, people["frontdesk"], booking.id),
        "cancel": lambda s: cancel_booking(s, clock, people["frontdesk"], booking.id),
        "no_show": lambda s: mark_no_show(s, clock, people["frontdesk"], booking.id),
        "confirm": lambda s: confirm_booking(s, clock, people["frontdesk"], booking.id),
    }
    with database.writer() as s:
        actions[first](s)
    count = len(_entries(database, booking.id))
    with database.writer() as s, pytest.raises(Conflict):
        actions[then](s)
    assert len(_entries(database, booking.id)) == count


def test_attendance_is_not_recorded_days_before_the_appointment(database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["operator"], start_at=future(clock, days=3))
    with database.writer() as s, pytest.raises(Conflict):
        mark_attended(s, clock, people["frontdesk"], booking.id)


def test_a_move_keeps_the_credit_pending_and_asks_for_confirmation_again(database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["operator"])
    with database.writer() as s:
        confirm_booking(s, clock, people["operator"], booking.id)
    new_start = booking.start_at + timedelta(days=2)
    with database.writer() as s:
        moved = move_booking(s, clock, people["operator"], booking.id, start_at=new_start)
    assert (moved.start_at, moved.end_at - moved.start_at) == (new_start, timedelta(minutes=30))
    assert moved.status is BookingStatus.BOOKED
    assert [k for k, _, _ in _entries(database, booking.id)] == [CreditKind.PENDING]


def test_a_move_onto_another_booking_of_the_patient_conflicts(database, clock, world, people):
    first = make_booking(database, clock, world.a, by=people["operator"])
    second = make_booking(database, clock, world.a, by=people["operator"], start_at=first.start_at + timedelta(hours=2))
    with database.writer() as s, pytest.raises(Conflict):
        move_booking(s, clock, people["operator"], second.id, start_at=first.start_at)


def test_a_per_service_rate_replaces_the_base_and_the_recall_multiplier_rounds_half_up(database, clock, world):
    from decimal import Decimal

    service = world.a.services[1].id
    terms = PlanTerms(1000, 1001, Decimal("1.5"), {(service, Role.OPERATOR): 3333})
    assert terms.amount(Role.OPERATOR, service, is_recall=False) == 3333
    assert terms.amount(Role.OPERATOR, service, is_recall=True) == 5000  # 4999.5 rounds up
    assert terms.amount(Role.OPERATOR, None, is_recall=True) == 1502  # 1501.5 rounds up
    assert terms.amount(Role.FRONTDESK, service, is_recall=False) == 1000


def test_two_operators_booking_the_same_patient_at_once_make_exactly_one_booking(database, clock, world, people):
    start = future(clock)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(who: str) -> None:
        barrier.wait()
        try:
            make_booking(database, clock, world.a, by=people[who], start_at=start)
            outcomes.append("booked")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(w,)) for w in ("operator", "operator2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["booked", "conflict"]


def test_racing_attend_and_cancel_settle_a_booking_exactly_once(database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["operator"])
    clock.set(booking.start_at)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def run(action) -> None:
        barrier.wait()
        try:
            with database.writer() as s:
                action(s)
        except Conflict as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(a,))
        for a in (
            lambda s: mark_attended(s, clock, people["frontdesk"], booking.id),
            lambda s: cancel_booking(s, clock, people["operator"], booking.id),
        )
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    kinds = [k for k, _, _ in _entries(database, booking.id)]
    assert len(errors) == 1 and len(kinds) == 2 and kinds[0] is CreditKind.PENDING


def test_a_booking_from_a_recall_task_that_is_not_open_conflicts(database, clock, world, people):
    from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout

    with database.writer() as s:
        visit = check_in(
            s, clock, people["frontdesk"], patient_id=world.a.patients[0].id, service_id=world.a.services[0].id
        )
    with database.writer() as s:
        task = checkout(s, clock, people["frontdesk"], visit.id, CheckoutRequest(FollowUp.UNDECIDED)).recall_task
    make_booking(database, clock, world.a, by=people["operator"], source=Source.RECALL_TASK, recall_task_id=task.id)
    with pytest.raises(Conflict):
        make_booking(
            database,
            clock,
            world.a,
            by=people["operator2"],
            source=Source.RECALL_TASK,
            recall_task_id=task.id,
            start_at=future(clock, days=9),
        )
