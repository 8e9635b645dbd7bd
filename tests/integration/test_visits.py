"""Check-in and checkout: the follow-up recorded at the desk, and the recall work it opens."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.clinics import update_clinic
from recall.common.actors import Actor
from recall.common.errors import Conflict, ValidationError
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.tasks import CloseReason, RecallTask, TaskReason, TaskStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import Booking, BookingStatus, Channel, Source
from recall.visits.visits import CheckoutRequest, DeskBooking, FollowUp, Visit, VisitStatus, check_in, checkout
from tests.factories import future, make_booking


def _visit(database, clock, people, world, service=0):
    with database.writer() as s:
        return check_in(
            s,
            clock,
            people["frontdesk"],
            patient_id=world.a.patients[0].id,
            service_id=world.a.services[service].id,
            provider_id=world.a.providers[0].id,
        )


def _checkout(database, clock, people, visit, who="frontdesk", **kw):
    with database.writer() as s:
        return checkout(s, clock, people[who], visit.id, CheckoutRequest(**kw))


def _tasks(database):
    with database.reader() as s:
        return list(s.scalars(sa.select(RecallTask).order_by(RecallTask.id)))


def test_an_undecided_patient_gets_a_recall_task_due_at_the_recommended_day(database, clock, world, people):
    visit = _visit(database, clock, people, world)  # the service recommends 30 days
    result = _checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED)
    task = result.recall_task
    assert (task.status, task.reason, task.follow_up_date) == (TaskStatus.OPEN, TaskReason.UNDECIDED, date(2026, 4, 1))
    # 1 April 2026 is a Wednesday; calling starts at 09:00 in Stockholm, which is on summer time (UTC+2) by then.
    assert task.due_at == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert result.booking is None


def test_a_recall_task_is_never_due_before_the_cooling_off_delay(database, clock, world, people):
    with database.writer() as s:
        update_clinic(s, Actor.system(world.a.clinic.id), {"recall_cooling_off_hours": 24 * 10})
    visit = _visit(database, clock, people, world)
    task = _checkout(database, clock, people, visit, follow_up=FollowUp.DECLINED, follow_up_interval_days=3).recall_task
    assert task.due_at == clock.now() + timedelta(days=10)
    assert task.reason is TaskReason.DECLINED


def test_a_weekend_recommendation_is_due_when_weekend_calling_hours_start(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    task = _checkout(
        database, clock, people, visit, follow_up=FollowUp.UNDECIDED, follow_up_date=date(2026, 3, 21)
    ).recall_task  # a Saturday, still winter time
    assert task.due_at == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)  # 10:00 local


def test_a_checkout_with_a_booking_opens_no_task_and_credits_the_front_desk(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    result = _checkout(
        database,
        clock,
        people,
        visit,
        follow_up=FollowUp.BOOKED,
        booking=DeskBooking(start_at=future(clock, 30), service_id=world.a.services[0].id),
    )
    assert result.recall_task is None and _tasks(database) == []
    assert (result.booking.channel, result.booking.source) == (Channel.IN_PERSON, Source.VISIT_CHECKOUT)
    assert result.booking.credited_staff_id == people["frontdesk"].staff_id
    assert result.visit.follow_up_booking_id == result.booking.id


def test_no_follow_up_needed_opens_nothing(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    assert _checkout(database, clock, people, visit, follow_up=FollowUp.NOT_NEEDED).recall_task is None
    assert _tasks(database) == []


@pytest.mark.parametrize("follow_up", [FollowUp.UNDECIDED, FollowUp.BOOKED])
def test_repeating_a_checkout_changes_nothing(database, clock, world, people, follow_up):
    visit = _visit(database, clock, people, world)
    booking = DeskBooking(start_at=future(clock, 30)) if follow_up is FollowUp.BOOKED else None
    first = _checkout(database, clock, people, visit, follow_up=follow_up, booking=booking)
    again = _checkout(database, clock, people, visit, follow_up=follow_up, booking=booking)
    assert again.replayed and not first.replayed
    assert (again.booking and again.booking.id) == (first.booking and first.booking.id)
    assert len(_tasks(database)) == (1 if follow_up is FollowUp.UNDECIDED else 0)


def test_the_patient_who_comes_back_to_book_closes_the_task_and_the_front_desk_earns_it(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    task = _checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED).recall_task
    clock.advance(timedelta(minutes=10))
    result = _checkout(
        database,
        clock,
        people,
        visit,
        who="frontdesk2",
        follow_up=FollowUp.BOOKED,
        booking=DeskBooking(start_at=future(clock, 30), provider_id=world.a.providers[1].id),
    )
    [closed] = _tasks(database)
    assert closed.id == task.id
    assert (closed.status, closed.close_reason, closed.booking_id) == (
        TaskStatus.CLOSED,
        CloseReason.BOOKED_AT_DESK,
        result.booking.id,
    )
    assert result.booking.credited_staff_id == people["frontdesk2"].staff_id
    with database.reader() as s:
        assert [e.kind for e in entries_for_booking(s, result.booking.id)] == [CreditKind.PENDING]


def test_a_checkout_cannot_be_corrected_once_an_operator_won_the_patient_back(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    task = _checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED).recall_task
    make_booking(
        database,
        clock,
        world.a,
        days=20,
        patient_id=visit.patient_id,
        source=Source.RECALL_TASK,
        recall_task_id=task.id,
    )
    with pytest.raises(Conflict):
        _checkout(
            database,
            clock,
            people,
            visit,
            follow_up=FollowUp.BOOKED,
            booking=DeskBooking(start_at=future(clock, 40), service_id=world.a.services[0].id),
        )


def test_a_booked_checkout_is_changed_through_its_booking_not_by_a_new_checkout(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    _checkout(
        database,
        clock,
        people,
        visit,
        follow_up=FollowUp.BOOKED,
        booking=DeskBooking(start_at=future(clock, 30), service_id=world.a.services[0].id),
    )
    with pytest.raises(Conflict):
        _checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED)


def test_correcting_to_not_needed_closes_the_open_task(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    _checkout(database, clock, people, visit, follow_up=FollowUp.DECLINED)
    _checkout(database, clock, people, visit, follow_up=FollowUp.NOT_NEEDED)
    [task] = _tasks(database)
    assert (task.status, task.close_reason) == (TaskStatus.CLOSED, CloseReason.NOT_NEEDED)


def test_cancelling_a_follow_up_booking_reopens_recall_work(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    booking = _checkout(
        database,
        clock,
        people,
        visit,
        follow_up=FollowUp.BOOKED,
        booking=DeskBooking(start_at=future(clock, 30), service_id=world.a.services[0].id),
    ).booking
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking.id, "cannot come")
    [task] = _tasks(database)
    assert (task.status, task.reason, task.origin_booking_id, task.origin_visit_id) == (
        TaskStatus.OPEN,
        TaskReason.BOOKING_CANCELLED,
        booking.id,
        visit.id,
    )


def test_cancelling_a_booking_that_was_no_follow_up_opens_nothing(database, clock, world, people):
    booking = make_booking(database, clock, world.a)
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking.id)
    assert _tasks(database) == []


def test_checking_in_for_a_booking_marks_it_attended_and_earns_the_credit(database, clock, world, people):
    booking = make_booking(database, clock, world.a, days=1)
    clock.set(booking.start_at - timedelta(minutes=15))
    with database.writer() as s:
        visit = check_in(s, clock, people["frontdesk"], patient_id=booking.patient_id, booking_id=booking.id)
    assert visit.service_id == booking.service_id
    with database.reader() as s:
        kinds = [e.kind for e in entries_for_booking(s, booking.id)]
        from recall.visits.booking import get_booking

        assert get_booking(s, world.a.clinic.id, booking.id).status is BookingStatus.ATTENDED
    assert kinds == [CreditKind.PENDING, CreditKind.EARNED]


def test_a_service_without_a_default_interval_needs_a_date_to_open_a_task(database, clock, world, people):
    visit = _visit(database, clock, people, world, service=1)
    with pytest.raises(ValidationError) as err:
        _checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED)
    assert "follow_up_date" in err.value.fields
    assert _tasks(database) == []


def test_concurrent_identical_checkouts_open_one_task(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(_checkout(database, clock, people, visit, follow_up=FollowUp.UNDECIDED).replayed)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True, True, True]
    assert len(_tasks(database)) == 1


# --- one open visit per patient ---------------------------------------------------------------------------------


def test_a_patient_still_checked_in_cannot_be_checked_in_again(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    with database.writer() as s, pytest.raises(Conflict) as refused:
        check_in(s, clock, people["frontdesk2"], patient_id=world.a.patients[0].id)
    assert f"visit {visit.id}" in refused.value.message
    assert any(f"visit {visit.id}" in m for m in refused.value.fields["patient_id"])
    # Not for a booking either: the booking stays as it was.
    booking = make_booking(
        database,
        clock,
        world.a,
        by=people["frontdesk"],
        start_at=clock.now() + timedelta(minutes=30),
        channel=Channel.IN_PERSON,
    ).id
    with database.writer() as s, pytest.raises(Conflict):
        check_in(s, clock, people["frontdesk"], patient_id=world.a.patients[0].id, booking_id=booking)
    with database.reader() as s:
        assert s.scalar(sa.select(Booking.status).where(Booking.id == booking)) is BookingStatus.BOOKED
        assert s.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1
    _checkout(database, clock, people, visit, follow_up=FollowUp.NOT_NEEDED)
    with database.writer() as s:  # checked out: the next visit may begin
        again = check_in(s, clock, people["frontdesk"], patient_id=world.a.patients[0].id, booking_id=booking)
    assert again.id != visit.id and again.booking_id == booking


def test_the_database_refuses_a_second_open_visit_of_a_patient(database, clock, world, people):
    visit = _visit(database, clock, people, world)
    with database.writer() as s:
        s.add(
            Visit(
                clinic_id=world.a.clinic.id,
                patient_id=visit.patient_id,
                status=VisitStatus.CHECKED_IN,
                checked_in_at=clock.now(),
                checked_in_by_id=people["frontdesk"].staff_id,
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()
        s.rollback()


def test_concurrent_check_ins_of_one_patient_record_one_visit_and_the_rest_name_it(database, clock, world, people):
    barrier = threading.Barrier(4)
    results: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            with database.writer() as s:
                results.append(check_in(s, clock, people["frontdesk"], patient_id=world.a.patients[0].id).id)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    visits = [r for r in results if isinstance(r, int)]
    assert len(visits) == 1 and len(results) == 4
    refusals = [r for r in results if not isinstance(r, int)]
    assert all(isinstance(r, Conflict) and f"visit {visits[0]}" in r.message for r in refusals), refusals
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1
