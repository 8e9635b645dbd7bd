"""Contact attempts and the clinic's outcome rules, through the use cases, on every configured database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.errors import Conflict, ValidationError
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.attempts import AttemptChannel, AttemptInput, BookingDetails, ContactAttempt, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import CloseReason, RecallTask, TaskStatus
from recall.reminders.patient_edits import update_patient
from recall.visits.bookings import Booking, Source
from tests.factories import make_patient, make_task


@pytest.fixture
def held(database, clock, world, people):
    """A due task of a fresh patient, claimed by the operator."""
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Olga Ivanova", language="ru").id
    task = make_task(database, clock, world.a.clinic.id, patient, service_id=world.a.services[0].id)
    _claim(database, clock, people["operator"])
    return task.id


def _claim(database, clock, actor):
    with database.writer() as s:
        claim = claim_next(s, clock, actor)
        return claim.task.id if claim.task else None


def _log(database, clock, actor, task_id, **kw):
    with database.writer() as s:
        return log_attempt(s, clock, actor, task_id, AttemptInput(**kw))


def _task(database, task_id) -> RecallTask:
    with database.reader() as s:
        task = s.get(RecallTask, task_id)
        assert task is not None
        return task


def _patient_of(database, task_id) -> Patient:
    with database.reader() as s:
        return s.get(Patient, _task(database, task_id).patient_id)


@pytest.mark.parametrize("outcome", [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL])
def test_an_unanswered_call_comes_back_after_a_growing_backoff_then_ends_unreachable(
    database, clock, people, held, outcome
):
    # The defaults: 4 h, then a day, then three days (repeating); unreachable at the fifth unanswered attempt.
    waits = [timedelta(hours=4), timedelta(days=1), timedelta(days=3), timedelta(days=3)]
    for number, wait in enumerate(waits, start=1):
        result = _log(database, clock, people["operator"], held, outcome=outcome, duration_seconds=30)
        assert result.attempt.answered is False
        task = _task(database, held)
        assert (task.status, task.failed_attempts, task.lease_holder_id) == (TaskStatus.OPEN, number, None)
        assert task.due_at == clock.now() + wait
        clock.advance(wait)
        assert _claim(database, clock, people["operator"]) == held
    _log(database, clock, people["operator"], held, outcome=outcome)
    task = _task(database, held)
    assert (task.status, task.close_reason, task.attempt_count) == (TaskStatus.CLOSED, CloseReason.UNREACHABLE, 5)


def test_an_attempt_reads_its_patient_and_its_task_once_each(database, clock, people, held):
    """The patient is locked first, then the task: each read once, the task's patient id alone before that."""
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        if statement.lstrip().startswith("SELECT"):
            reads.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        _log(database, clock, people["operator"], held, outcome=Outcome.NO_ANSWER, duration_seconds=30)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    assert len([r for r in reads if "FROM patients" in r]) == 1
    whole_task = [r for r in reads if "FROM recall_tasks" in r and "recall_tasks.lease_holder_id" in r]
    assert len(whole_task) == 1
    assert _task(database, held).failed_attempts == 1


def test_the_clinics_own_backoff_and_attempt_limit_apply(database, clock, world, people, held):
    with database.writer() as s:
        s.execute(
            sa.update(Clinic)
            .where(Clinic.id == world.a.clinic.id)
            .values(recall_backoff_minutes=[30, 90], recall_max_attempts=2)
        )
        s.commit()
    _log(database, clock, people["operator"], held, outcome=Outcome.NO_ANSWER)
    assert _task(database, held).due_at == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=30))
    _claim(database, clock, people["operator"])
    _log(database, clock, people["operator"], held, outcome=Outcome.BUSY)
    assert _task(database, held).close_reason is CloseReason.UNREACHABLE


def test_a_declined_task_closes_with_the_reason(database, clock, people, held):
    result = _log(
        database,
        clock,
        people["operator"],
        held,
        outcome=Outcome.DECLINED,
        decline_reason="moved abroad",
        duration_seconds=120,
    )
    task = _task(database, held)
    assert (task.status, task.close_reason, task.decline_reason) == (
        TaskStatus.CLOSED,
        CloseReason.DECLINED,
        "moved abroad",
    )
    assert task.closed_by_id == people["operator"].staff_id and result.attempt.answered


def test_a_wrong_number_flags_the_phone_and_parks_the_task_until_it_is_corrected(database, clock, world, people, held):
    _log(database, clock, people["operator"], held, outcome=Outcome.WRONG_NUMBER)
    assert _task(database, held).status is TaskStatus.PARKED
    patient = _patient_of(database, held)
    assert patient.phone_invalid
    assert _claim(database, clock, people["operator"]) is None
    with database.writer() as s:  # the same number again does not count as a correction
        update_patient(s, clock, Actor.system(world.a.clinic.id), patient.id, {"phone": patient.phone_e164})
    assert _task(database, held).status is TaskStatus.PARKED
    with database.writer() as s:
        update_patient(s, clock, Actor.system(world.a.clinic.id), patient.id, {"phone": "070-111 22 33"})
    assert _task(database, held).status is TaskStatus.OPEN and not _patient_of(database, held).phone_invalid
    assert _claim(database, clock, people["operator2"]) == held


def test_a_requested_callback_is_due_then_and_reserved_for_the_same_operator(database, clock, people, held):
    at = clock.now() + timedelta(days=1, hours=2)  # Tuesday 11:00 in Stockholm
    _log(database, clock, people["operator"], held, outcome=Outcome.CALLBACK_REQUESTED, callback_at=at)
    task = _task(database, held)
    assert (task.due_at, task.reserved_for_id, task.reserved_until, task.lease_holder_id) == (
        at,
        people["operator"].staff_id,
        at + timedelta(minutes=60),
        None,
    )
    clock.set(at)
    assert _claim(database, clock, people["operator2"]) is None
    assert _claim(database, clock, people["operator"]) == held


def test_a_callback_outside_the_patients_calling_hours_is_refused(database, clock, people, held):
    night = clock.now().replace(hour=22)  # 23:00 in Stockholm
    with pytest.raises(ValidationError) as refused:
        _log(database, clock, people["operator"], held, outcome=Outcome.CALLBACK_REQUESTED, callback_at=night)
    assert "callback_at" in refused.value.fields
    assert _task(database, held).attempt_count == 0


def test_opting_out_on_the_phone_closes_every_open_task_of_the_patient(database, clock, world, people, held):
    patient = _task(database, held).patient_id
    second = make_task(database, clock, world.a.clinic.id, patient, due_at=clock.now() + timedelta(days=30))
    _log(database, clock, people["operator"], held, outcome=Outcome.OPTED_OUT)
    assert _patient_of(database, held).opted_out
    for task_id in (held, second.id):
        assert (_task(database, task_id).status, _task(database, task_id).close_reason) == (
            TaskStatus.CLOSED,
            CloseReason.OPTED_OUT,
        )


def test_booking_from_the_task_wins_it_and_credits_the_operator_at_the_recall_rate(
    database, clock, world, people, held
):
    ent = world.a.services[1].id  # a different service than the task suggested still counts
    result = _log(
        database,
        clock,
        people["operator"],
        held,
        outcome=Outcome.BOOKED,
        channel=AttemptChannel.PHONE,
        duration_seconds=240,
        booking=BookingDetails(start_at=clock.now() + timedelta(days=2), service_id=ent),
    )
    task = _task(database, held)
    assert (task.status, task.close_reason, task.booking_id) == (TaskStatus.WON, CloseReason.BOOKED, result.booking_id)
    with database.reader() as s:
        booking = s.get(Booking, result.booking_id)
        assert (booking.source, booking.recall_task_id, booking.credited_staff_id) == (
            Source.RECALL_TASK,
            held,
            people["operator"].staff_id,
        )
        entries = [(e.kind, e.amount_cents, e.is_recall) for e in entries_for_booking(s, booking.id)]
    assert entries == [(CreditKind.PENDING, 1500, True)]  # base 10.00 x recall multiplier 1.5
    assert result.attempt.booking_id == booking.id and result.attempt.answered


def test_a_failed_booking_leaves_no_attempt_and_keeps_the_task(database, clock, world, people, held):
    with pytest.raises(ValidationError):
        _log(
            database,
            clock,
            people["operator"],
            held,
            outcome=Outcome.BOOKED,
            booking=BookingDetails(start_at=clock.now() - timedelta(days=2), service_id=world.a.services[0].id),
        )
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
    task = _task(database, held)
    assert (task.status, task.attempt_count, task.lease_holder_id) == (TaskStatus.OPEN, 0, people["operator"].staff_id)


def test_only_the_lease_holder_logs_an_attempt(database, clock, people, held):
    with pytest.raises(Conflict):
        _log(database, clock, people["operator2"], held, outcome=Outcome.NO_ANSWER)
    _log(database, clock, people["operator"], held, outcome=Outcome.NO_ANSWER)
    with pytest.raises(Conflict):  # the lease ended with the attempt: claim again first
        _log(database, clock, people["operator"], held, outcome=Outcome.NO_ANSWER)


def test_a_holder_whose_lease_lapsed_may_still_log_while_nobody_took_the_task(database, clock, people, held):
    clock.advance(timedelta(minutes=20))
    _log(database, clock, people["operator"], held, outcome=Outcome.DECLINED, decline_reason="not interested")
    assert _task(database, held).status is TaskStatus.CLOSED


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"outcome": Outcome.DECLINED}, "decline_reason"),
        ({"outcome": Outcome.DECLINED, "decline_reason": "  "}, "decline_reason"),
        ({"outcome": Outcome.CALLBACK_REQUESTED}, "callback_at"),
        ({"outcome": Outcome.BOOKED}, "booking"),
        ({"outcome": Outcome.NO_ANSWER, "decline_reason": "x"}, "decline_reason"),
        ({"outcome": Outcome.NO_ANSWER, "duration_seconds": -1}, "duration_seconds"),
        ({"outcome": Outcome.NO_ANSWER, "duration_seconds": 4 * 3600 + 1}, "duration_seconds"),
    ],
)
def test_an_attempt_missing_what_its_outcome_needs_is_refused(database, clock, people, held, kw, field):
    with pytest.raises(ValidationError) as refused:
        _log(database, clock, people["operator"], held, **kw)
    assert field in refused.value.fields
    assert _task(database, held).attempt_count == 0
