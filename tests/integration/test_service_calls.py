"""Service calls in the operators' queue, on every configured database: a reminder call the policy asks a
person to make, and a patient's request (a key press, an SMS reply). They are about a booking the patient
already has, so that booking must not close them, they go before win-back work, and their outcomes act on
the booking through the core's use cases.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.clinics import Clinic
from recall.common.clock import FixedClock
from recall.common.errors import Conflict, ValidationError
from recall.credit.ledger import CreditEntry, CreditKind
from recall.queue.attempts import BookingDetails, ContactAttempt, Outcome
from recall.queue.claims import claim_next
from recall.queue.stats import team_kpis
from recall.queue.tasks import CloseReason, RecallTask, TaskReason, TaskStatus
from recall.reminders import inbound
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import Booking, BookingStatus
from tests.factories import dispatch_at, future, make_booking, make_patient, make_task, row
from tests.integration.inbound_scene import credit_kinds, make_reminder, new_sid, run, status_of
from tests.integration.test_attempts import _log

CALL_AHEAD = 24 * 60  # the operator calls the day before


def _policy_with_an_operator_call(database, clock, people) -> None:
    run(
        database,
        replace_policy,
        clock,
        people["manager"],
        {"steps": [{"offset_minutes": CALL_AHEAD, "channel": "operator_call", "routine": False}]},
    )


def _claim(database, clock, actor) -> RecallTask | None:
    with database.writer() as s:
        return claim_next(s, clock, actor).task


def _task(database, task_id) -> RecallTask:
    return row(database, RecallTask, task_id)


@pytest.fixture
def reminder_call(database, clock, world, people):
    """A booking three days ahead whose reminder policy wants an operator to call the day before; the clock
    stands at that moment and the dispatcher has handed the call to the queue. Returns (booking, task, clock)."""
    _policy_with_an_operator_call(database, clock, people)
    booking = make_booking(database, clock, world.a, days=3)
    at = FixedClock(booking.start_at - timedelta(minutes=CALL_AHEAD))
    assert dispatch_at(database, at.now()) == {"handed_over": 1}
    with database.reader() as s:
        task = s.scalars(sa.select(RecallTask).where(RecallTask.origin_booking_id == booking.id)).one()
    return booking, task, at


def test_a_reminder_call_reaches_an_operator_although_the_patient_has_a_future_booking(database, people, reminder_call):
    booking, task, at = reminder_call
    assert task.reason is TaskReason.REMINDER_CALL and task.status is TaskStatus.OPEN

    claimed = _claim(database, at, people["operator"])

    assert claimed is not None and claimed.id == task.id  # not closed as "already booked" on the way
    assert status_of(database, booking.id) is BookingStatus.BOOKED


def test_a_patients_request_by_key_press_reaches_an_operator(database, clock, world, people):
    booking = make_booking(database, clock, world.a, days=3)
    reminder = make_reminder(database, clock, booking, channel=Via.VOICE, sid=new_sid("CA"))
    run(database, inbound.gather, clock, reminder_id=reminder.id, call_sid=reminder.provider_sid, digits="3")

    claimed = _claim(database, clock, people["operator"])

    assert claimed is not None and claimed.reason is TaskReason.PATIENT_REQUEST
    assert claimed.origin_booking_id == booking.id


def test_service_calls_go_before_win_back_work_however_overdue(database, clock, world, people, reminder_call):
    _booking_, task, at = reminder_call
    overdue = make_patient(database, clock, world.a.clinic.id, full_name="Long Overdue", phone="+46701112233")
    make_task(
        database,
        clock,
        world.a.clinic.id,
        overdue.id,
        service_id=world.a.services[0].id,
        due_at=at.now() - timedelta(days=400),
    )

    assert _claim(database, at, people["operator"]).id == task.id


def test_in_a_surge_service_calls_still_go_first(database, clock, world, people, reminder_call):
    _booking_, task, at = reminder_call
    with database.writer() as s:
        s.get(Clinic, world.a.clinic.id).surge_backlog = 1
        s.commit()
    overdue = make_patient(database, clock, world.a.clinic.id, full_name="Long Overdue", phone="+46701112233")
    make_task(
        database,
        clock,
        world.a.clinic.id,
        overdue.id,
        service_id=world.a.services[0].id,
        due_at=at.now() - timedelta(days=60),
    )

    with database.writer() as s:
        claim = claim_next(s, at, people["operator"])
        assert claim.surge.active and claim.task is not None and claim.task.id == task.id


def test_confirmed_on_the_call_confirms_the_booking_and_closes_the_call(database, people, reminder_call):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])

    result = _log(database, at, people["operator"], task.id, outcome=Outcome.CONFIRMED, duration_seconds=40)

    assert status_of(database, booking.id) is BookingStatus.CONFIRMED
    closed = _task(database, task.id)
    assert (closed.status, closed.close_reason, closed.booking_id) == (
        TaskStatus.CLOSED,
        CloseReason.CONFIRMED,
        booking.id,
    )
    assert closed.closed_by_id == people["operator"].staff_id
    assert result.attempt.answered and result.attempt.booking_id == booking.id
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING]  # the booking's credit is untouched


def test_cancelled_on_the_call_cancels_the_booking_voids_its_credit_and_stops_its_reminders(
    database, people, reminder_call
):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])

    _log(database, at, people["operator"], task.id, outcome=Outcome.CANCELLED)

    cancelled = row(database, Booking, booking.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.cancel_reason == "patient cancelled on a reminder call"
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING, CreditKind.VOID]
    closed = _task(database, task.id)
    assert (closed.close_reason, closed.closed_by_id) == (CloseReason.CANCELLED, people["operator"].staff_id)
    with database.reader() as s:
        waiting = s.scalar(
            sa.select(sa.func.count())
            .select_from(Reminder)
            .where(
                Reminder.booking_id == booking.id, Reminder.status.in_((ReminderStatus.PLANNED, ReminderStatus.SENDING))
            )
        )
    assert waiting == 0


def test_rescheduled_on_the_call_moves_the_booking_and_plans_its_reminders_anew(database, people, reminder_call):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])
    new_start = booking.start_at + timedelta(days=5)

    _log(
        database,
        at,
        people["operator"],
        task.id,
        outcome=Outcome.RESCHEDULED,
        booking=BookingDetails(start_at=new_start),
    )

    moved = row(database, Booking, booking.id)
    assert moved.start_at == new_start and moved.end_at - moved.start_at == booking.end_at - booking.start_at
    assert _task(database, task.id).close_reason is CloseReason.RESCHEDULED
    with database.reader() as s:
        planned = s.scalars(
            sa.select(Reminder.send_at).where(
                Reminder.booking_id == booking.id, Reminder.status == ReminderStatus.PLANNED
            )
        ).all()
    assert planned == [new_start - timedelta(minutes=CALL_AHEAD)]
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING]


def test_a_reschedule_to_a_time_in_the_past_is_refused_under_booking_and_changes_nothing(
    database, people, reminder_call
):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])

    with pytest.raises(ValidationError) as refused:
        _log(
            database,
            at,
            people["operator"],
            task.id,
            outcome=Outcome.RESCHEDULED,
            booking=BookingDetails(start_at=at.now() - timedelta(days=1)),
        )

    assert list(refused.value.fields) == ["booking.start_at"]
    assert row(database, Booking, booking.id).start_at == booking.start_at
    assert _task(database, task.id).status is TaskStatus.OPEN
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0


@pytest.mark.parametrize(
    "details, field",
    [
        (None, "booking"),
        ({"service_id": "ent"}, "booking.service_id"),
        ({"note": "bring the results"}, "booking.note"),
    ],
)
def test_a_reschedule_needs_the_new_time_and_moves_the_booking_as_it_is(
    database, world, people, reminder_call, details, field
):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])
    if details is not None:
        details = {**details, "service_id": world.a.services[1].id} if "service_id" in details else details
        details = BookingDetails(start_at=booking.start_at + timedelta(days=1), **details)

    with pytest.raises(ValidationError) as refused:
        _log(database, at, people["operator"], task.id, outcome=Outcome.RESCHEDULED, booking=details)

    assert list(refused.value.fields) == [field]
    assert row(database, Booking, booking.id).start_at == booking.start_at


def test_resolved_closes_the_call_and_leaves_the_booking_as_it_was(database, people, reminder_call):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])

    _log(database, at, people["operator"], task.id, outcome=Outcome.RESOLVED, note="asked about parking")

    assert status_of(database, booking.id) is BookingStatus.BOOKED
    assert _task(database, task.id).close_reason is CloseReason.RESOLVED


@pytest.mark.parametrize("outcome", [Outcome.CONFIRMED, Outcome.CANCELLED, Outcome.RESOLVED])
def test_service_outcomes_do_not_end_win_back_work(database, clock, world, people, outcome):
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Left Without", phone="+46701112244")
    task = make_task(database, clock, world.a.clinic.id, patient.id, service_id=world.a.services[0].id)
    _claim(database, clock, people["operator"])

    with pytest.raises(ValidationError) as refused:
        _log(database, clock, people["operator"], task.id, outcome=outcome)

    assert list(refused.value.fields) == ["outcome"]
    assert _task(database, task.id).status is TaskStatus.OPEN


def test_confirming_a_request_that_is_about_no_booking_is_a_conflict(database, clock, world, people):
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Texted Us", phone="+46701112255")
    task = make_task(database, clock, world.a.clinic.id, patient.id, reason=TaskReason.PATIENT_REQUEST)
    _claim(database, clock, people["operator"])

    with pytest.raises(Conflict) as refused:
        _log(database, clock, people["operator"], task.id, outcome=Outcome.CONFIRMED)

    assert list(refused.value.fields) == ["outcome"]


def test_cancelling_the_booking_closes_the_call_about_it(database, clock, people, reminder_call):
    booking, task, at = reminder_call

    run(database, cancel_booking, at, people["frontdesk"], booking.id, "the patient phoned in")

    closed = _task(database, task.id)
    assert (closed.status, closed.close_reason, closed.closed_by_id) == (
        TaskStatus.CLOSED,
        CloseReason.BOOKING_OVER,
        None,
    )


def test_a_call_nobody_took_before_the_visit_began_closes_itself_on_the_way(database, people, reminder_call):
    booking, task, _at = reminder_call
    after_start = FixedClock(booking.start_at + timedelta(minutes=5))

    assert _claim(database, after_start, people["operator"]) is None
    assert _task(database, task.id).close_reason is CloseReason.BOOKING_OVER


def test_an_unanswered_reminder_call_comes_back_while_the_visit_is_ahead(database, people, reminder_call):
    booking, task, at = reminder_call
    _claim(database, at, people["operator"])

    _log(database, at, people["operator"], task.id, outcome=Outcome.NO_ANSWER)

    waiting = _task(database, task.id)
    assert waiting.status is TaskStatus.OPEN and waiting.due_at == at.now() + timedelta(hours=4)
    assert _claim(database, FixedClock(waiting.due_at), people["operator"]).id == task.id


def test_a_second_call_step_for_the_same_booking_joins_the_open_call(database, clock, world, people):
    run(
        database,
        replace_policy,
        clock,
        people["manager"],
        {
            "steps": [
                {"offset_minutes": 48 * 60, "channel": "operator_call", "routine": False},
                {"offset_minutes": CALL_AHEAD, "channel": "operator_call", "routine": False},
            ]
        },
    )
    booking = make_booking(database, clock, world.a, days=4)
    for offset in (48 * 60, CALL_AHEAD):
        assert dispatch_at(database, booking.start_at - timedelta(minutes=offset)) == {"handed_over": 1}

    with database.reader() as s:
        tasks = s.scalars(sa.select(RecallTask).where(RecallTask.origin_booking_id == booking.id)).all()
        linked = set(s.scalars(sa.select(Reminder.task_id).where(Reminder.booking_id == booking.id)))
    assert len(tasks) == 1 and linked == {tasks[0].id}


def test_a_booking_made_from_a_patients_request_earns_the_base_rate_not_the_recall_rate(database, clock, world, people):
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Texted Us", phone="+46701112255")
    request = make_task(database, clock, world.a.clinic.id, patient.id, reason=TaskReason.PATIENT_REQUEST)
    win_back = make_task(database, clock, world.a.clinic.id, world.a.patients[1].id)
    amounts = {}
    for task_id, _patient_id in ((request.id, patient.id), (win_back.id, world.a.patients[1].id)):
        assert _claim(database, clock, people["operator"]).id == task_id
        result = _log(
            database,
            clock,
            people["operator"],
            task_id,
            outcome=Outcome.BOOKED,
            booking=BookingDetails(start_at=future(clock, days=2 + len(amounts)), service_id=world.a.services[0].id),
        )
        with database.reader() as s:
            amounts[task_id] = s.scalar(
                sa.select(CreditEntry.amount_cents).where(
                    CreditEntry.booking_id == result.booking_id, CreditEntry.kind == CreditKind.PENDING
                )
            )

    assert amounts[win_back.id] == amounts[request.id] * 3 // 2  # the default recall multiplier is 1.5


def test_service_calls_do_not_count_in_the_operators_conversion(database, clock, world, people, reminder_call):
    _booking_, task, at = reminder_call
    _claim(database, at, people["operator"])
    _log(database, at, people["operator"], task.id, outcome=Outcome.RESOLVED)
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Left Without", phone="+46701112244")
    win_back = make_task(database, at, world.a.clinic.id, patient.id)
    assert _claim(database, at, people["operator"]).id == win_back.id
    _log(database, at, people["operator"], win_back.id, outcome=Outcome.DECLINED, decline_reason="moved away")

    with database.reader() as s:
        clinic = s.get(Clinic, world.a.clinic.id)
        rows = team_kpis(s, clinic, start=at.now() - timedelta(days=1), end=at.now() + timedelta(days=1))
    mine = [r for r in rows if r.staff_id == people["operator"].staff_id]
    assert sum(r.tasks_closed for r in mine) == 1 and sum(r.contacts for r in mine) == 2
