"""The front desk's reminder calls, on every configured database: the list, each outcome's effect, the refusals.

``make_call`` (tests/factories.py) hands a front-desk call over now, without a policy.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.errors import Conflict, Forbidden, NotFound, ValidationError
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.tasks import CloseReason, RecallTask, TaskStatus
from recall.reminders.calls import CANCEL_REASON, CallInput, CallState, describe, list_calls, record_call
from recall.reminders.patient_edits import update_patient
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import CallOutcome, Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import Booking, BookingStatus, confirm_booking, move_booking
from tests.api.checks import nothing_written
from tests.factories import actor_of, dispatch_at, make_booking, make_call, make_task, row

UTC = UTC
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
CALL_TIME = VISIT - timedelta(hours=24)  # the front desk calls the day before, at 13:00
# The desk calls a day ahead; an SMS follows two hours before the visit.
DESK_POLICY = {
    "steps": [
        {"offset_minutes": 24 * 60, "channel": "frontdesk_call", "routine": False},
        {"offset_minutes": 120, "channel": "sms"},
    ]
}


@pytest.fixture
def booking(database, clock, world, people) -> int:
    """The first patient's phone booking on Thursday, under a policy with a front-desk call the day before."""
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], DESK_POLICY)
    return make_booking(database, clock, world.a, start_at=VISIT).id


@pytest.fixture
def call(database, clock, booking) -> int:
    """The booking's call, handed over by the dispatcher when due; the clock stands a little after."""
    assert dispatch_at(database, CALL_TIME) == {"handed_over": 1}
    clock.set(CALL_TIME + timedelta(minutes=10))
    with database.reader() as s:
        return s.scalar(sa.select(Reminder.id).where(Reminder.channel == Via.FRONTDESK_CALL))


def record(database, clock, actor, reminder_id, outcome, **kw):
    with database.writer() as s:
        return record_call(s, clock, actor, reminder_id, CallInput(outcome=CallOutcome(outcome), **kw))


def call_ids(database, world, now, state=CallState.OPEN, **kw) -> list[int]:
    """Clinic a's front-desk calls at ``now``, as the list shows them."""
    with database.reader() as s:
        return [r.id for r in s.scalars(list_calls(world.a.clinic.id, now=now, state=state, **kw))]


def waiting(database, booking_id) -> list[tuple[Via, datetime]]:
    with database.reader() as s:
        return [
            (r.channel, r.send_at)
            for r in s.scalars(
                sa.select(Reminder)
                .where(Reminder.booking_id == booking_id, Reminder.status == ReminderStatus.PLANNED)
                .order_by(Reminder.send_at)
            )
        ]


def ledger(database, booking_id) -> list[tuple[CreditKind, int]]:
    with database.reader() as s:
        return [(e.kind, e.staff_id) for e in entries_for_booking(s, booking_id)]


# --- the list ---------------------------------------------------------------------------------------------------


def test_a_front_desk_call_joins_the_desks_list_when_its_step_falls_due(database, clock, world, booking):
    assert dispatch_at(database, CALL_TIME - timedelta(minutes=1)) == {}, "not due a minute early"
    assert call_ids(database, world, CALL_TIME) == []
    assert dispatch_at(database, CALL_TIME) == {"handed_over": 1}
    [reminder_id] = call_ids(database, world, CALL_TIME)
    with database.reader() as s:
        [item] = describe(s, [s.get(Reminder, reminder_id)], CALL_TIME)
    assert (item.booking.id, item.booking.start_at, item.patient.phone_e164) == (booking, VISIT, "+46701234567")
    assert (item.reminder.send_at, item.reminder.call_attempts, item.reminder.task_id, item.open) == (
        CALL_TIME,
        0,
        None,
        True,
    )
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count(RecallTask.id))) == 0, "the desk's call makes no operator task"


def test_the_list_shows_the_soonest_visit_first(database, clock, world, people):
    later = make_booking(database, clock, world.a, start_at=VISIT + timedelta(days=1)).id
    sooner = make_booking(database, clock, world.a, start_at=VISIT, patient_id=world.a.patients[1].id).id
    first, second = make_call(database, clock, later), make_call(database, clock, sooner)
    assert call_ids(database, world, clock.now()) == [second, first]
    assert call_ids(database, world, clock.now(), booking_id=later) == [first]
    assert call_ids(database, world, clock.now(), patient_id=world.a.patients[1].id) == [second]


def test_a_call_about_a_cancelled_booking_leaves_the_list_without_a_write(
    database, clock, world, people, booking, call
):
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking, "the patient phoned")
    assert call_ids(database, world, clock.now()) == []
    assert call_ids(database, world, clock.now(), CallState.DONE) == [call]
    untouched = row(database, Reminder, call)
    assert (untouched.status, untouched.handled_at, untouched.call_outcome) == (ReminderStatus.HANDED_OVER, None, None)


def test_a_call_about_a_visit_that_has_begun_leaves_the_list(database, clock, world, call):
    assert call_ids(database, world, VISIT - timedelta(seconds=1)) == [call]
    assert call_ids(database, world, VISIT) == []
    assert call_ids(database, world, VISIT, CallState.DONE) == [call]
    assert call_ids(database, world, VISIT, CallState.ALL) == [call]


def test_an_opted_out_patients_call_leaves_the_list_and_cannot_be_recorded(database, clock, world, people, call):
    with database.writer() as s:
        update_patient(s, clock, Actor.system(world.a.clinic.id), world.a.patients[0].id, {"opted_out": True})
    assert call_ids(database, world, clock.now()) == []
    with nothing_written(database), pytest.raises(Conflict) as refused:
        record(database, clock, people["frontdesk"], call, "reached")
    assert "patient.opted_out" in refused.value.fields


def test_a_moved_bookings_new_call_supersedes_the_one_still_waiting(database, clock, world, people, booking, call):
    with database.writer() as s:
        move_booking(s, clock, people["operator"], booking, start_at=VISIT + timedelta(days=1))
    assert call_ids(database, world, clock.now()) == [call], "still the call to make, about the new time"
    assert dispatch_at(database, CALL_TIME + timedelta(days=1)) == {"handed_over": 1}
    [second] = call_ids(database, world, CALL_TIME + timedelta(days=1))
    first = row(database, Reminder, call)
    assert second != call
    assert (first.call_outcome, first.handled_at) == (CallOutcome.SUPERSEDED, CALL_TIME + timedelta(days=1))


def test_the_open_flag_of_every_call_agrees_with_the_open_list(database, clock, world, people, booking, call):
    other = make_call(
        database,
        clock,
        make_booking(
            database, clock, world.a, start_at=VISIT + timedelta(days=2), patient_id=world.a.patients[1].id
        ).id,
    )
    record(database, clock, people["frontdesk"], call, "reached")
    with database.reader() as s:
        items = describe(
            s, list(s.scalars(list_calls(world.a.clinic.id, now=clock.now(), state=CallState.ALL))), clock.now()
        )
    assert [(i.reminder.id, i.open) for i in items] == [(call, False), (other, True)]
    assert call_ids(database, world, clock.now()) == [other]


# --- each outcome -------------------------------------------------------------------------------------------------


def test_a_patient_who_confirms_on_the_call_has_the_booking_confirmed(database, clock, world, people, booking, call):
    done = record(database, clock, people["frontdesk"], call, "confirmed", note="will come by bus")
    assert row(database, Booking, booking).status is BookingStatus.CONFIRMED
    assert waiting(database, booking) == [], "the SMS is not sent once the visit is confirmed"
    saved = row(database, Reminder, call)
    assert (
        saved.call_outcome,
        saved.call_attempts,
        saved.called_by_id,
        saved.called_at,
        saved.handled_at,
        saved.call_note,
    ) == (CallOutcome.CONFIRMED, 1, people["frontdesk"].staff_id, clock.now(), clock.now(), "will come by bus")
    assert done.open is False and call_ids(database, world, clock.now()) == []
    assert ledger(database, booking) == [(CreditKind.PENDING, people["operator"].staff_id)], "no pay for a call"


def test_confirming_an_already_confirmed_visit_on_the_call_is_no_conflict(database, clock, people, booking, call):
    with database.writer() as s:
        confirm_booking(s, clock, people["operator"], booking)
    record(database, clock, people["manager"], call, "confirmed")
    assert row(database, Booking, booking).status is BookingStatus.CONFIRMED
    assert row(database, Reminder, call).handled_at == clock.now()


def test_a_cancellation_on_the_call_cancels_the_booking_voids_its_credit_and_stops_its_reminders(
    database, clock, people, booking, call
):
    assert waiting(database, booking) == [(Via.SMS, VISIT - timedelta(hours=2))]
    record(database, clock, people["frontdesk"], call, "cancelled")
    cancelled = row(database, Booking, booking)
    assert (cancelled.status, cancelled.cancel_reason) == (BookingStatus.CANCELLED, CANCEL_REASON)
    assert [kind for kind, _ in ledger(database, booking)] == [CreditKind.PENDING, CreditKind.VOID]
    assert waiting(database, booking) == []
    assert row(database, Reminder, call).call_outcome is CallOutcome.CANCELLED


def test_a_new_time_on_the_call_moves_the_booking_and_plans_its_reminders_again(
    database, clock, world, people, booking, call
):
    new_time = VISIT + timedelta(days=2)
    done = record(
        database,
        clock,
        people["frontdesk"],
        call,
        "rescheduled",
        start_at=new_time,
        provider_id=world.a.providers[1].id,
    )
    moved = row(database, Booking, booking)
    assert (moved.start_at, moved.end_at, moved.provider_id) == (
        new_time,
        new_time + timedelta(minutes=30),
        world.a.providers[1].id,
    )
    assert waiting(database, booking) == [
        (Via.FRONTDESK_CALL, new_time - timedelta(hours=24)),
        (Via.SMS, new_time - timedelta(hours=2)),
    ]
    assert (done.booking.start_at, done.reminder.call_outcome, done.open) == (new_time, CallOutcome.RESCHEDULED, False)
    assert [kind for kind, _ in ledger(database, booking)] == [CreditKind.PENDING], "a move keeps the credit pending"


def test_a_reschedule_into_the_past_is_refused_by_the_bookings_own_rule(database, clock, people, call):
    with nothing_written(database), pytest.raises(ValidationError) as refused:
        record(database, clock, people["frontdesk"], call, "rescheduled", start_at=clock.now() - timedelta(days=1))
    assert "start_at" in refused.value.fields


def test_a_patient_reached_on_the_call_keeps_the_booking_as_it_was(database, clock, people, booking, call):
    before = row(database, Booking, booking)
    record(database, clock, people["frontdesk"], call, "reached")
    after = row(database, Booking, booking)
    assert (after.status, after.start_at, after.updated_at) == (before.status, before.start_at, before.updated_at)
    assert waiting(database, booking) == [(Via.SMS, VISIT - timedelta(hours=2))]
    assert row(database, Reminder, call).handled_at == clock.now()


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "voicemail"])
def test_an_unanswered_call_stays_on_the_list_counting_its_tries(database, clock, world, people, call, outcome):
    record(database, clock, people["frontdesk"], call, outcome, note="try after lunch")
    clock.advance(timedelta(hours=2))
    record(database, clock, people["frontdesk2"], call, outcome)
    saved = row(database, Reminder, call)
    assert (saved.call_attempts, saved.handled_at, saved.call_outcome.value, saved.called_by_id) == (
        2,
        None,
        outcome,
        people["frontdesk2"].staff_id,
    )
    assert saved.call_note == "try after lunch", "a try without a note keeps the last one"
    assert call_ids(database, world, clock.now()) == [call]
    record(database, clock, people["frontdesk"], call, "reached", note="")
    saved = row(database, Reminder, call)
    assert (saved.call_attempts, saved.handled_at, saved.call_note) == (3, clock.now(), None)


def test_a_wrong_number_flags_the_patients_phone(database, clock, world, people, call):
    record(database, clock, people["frontdesk"], call, "wrong_number")
    assert row(database, Patient, world.a.patients[0].id).phone_invalid is True
    assert row(database, Reminder, call).handled_at == clock.now()


def test_an_opt_out_on_the_call_opts_the_patient_out_and_closes_their_tasks(
    database, clock, world, people, booking, call
):
    patient = world.a.patients[0].id
    task = make_task(database, clock, world.a.clinic.id, patient)
    record(database, clock, people["frontdesk"], call, "opted_out")
    assert row(database, Patient, patient).opted_out is True
    closed = row(database, RecallTask, task.id)
    assert (closed.status, closed.close_reason) == (TaskStatus.CLOSED, CloseReason.OPTED_OUT)
    assert waiting(database, booking) == []
    assert row(database, Booking, booking).status is BookingStatus.BOOKED, "opting out is not cancelling"


# --- refusals -----------------------------------------------------------------------------------------------------


def test_recording_a_call_that_is_done_is_a_conflict_that_writes_nothing(database, clock, people, call):
    record(database, clock, people["frontdesk"], call, "reached")
    with nothing_written(database), pytest.raises(Conflict) as refused:
        record(database, clock, people["frontdesk2"], call, "confirmed")
    assert "handled_at" in refused.value.fields


def test_recording_a_call_about_a_cancelled_booking_is_a_conflict_that_writes_nothing(
    database, clock, people, booking, call
):
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking)
    with nothing_written(database), pytest.raises(Conflict) as refused:
        record(database, clock, people["frontdesk"], call, "no_answer")
    assert "booking.status" in refused.value.fields


def test_recording_a_call_about_a_visit_that_has_begun_is_a_conflict_that_writes_nothing(database, clock, people, call):
    clock.set(VISIT)
    with nothing_written(database), pytest.raises(Conflict) as refused:
        record(database, clock, people["frontdesk"], call, "reached")
    assert "booking.start_at" in refused.value.fields


def test_a_reminder_that_is_not_a_handed_over_desk_call_is_not_a_call_to_record(database, clock, people, booking, call):
    with database.reader() as s:
        sms = s.scalar(sa.select(Reminder.id).where(Reminder.booking_id == booking, Reminder.channel == Via.SMS))
    with nothing_written(database), pytest.raises(Conflict) as refused:
        record(database, clock, people["frontdesk"], sms, "reached")
    assert "channel" in refused.value.fields


def test_another_clinics_reminder_is_not_found(database, clock, world, call):
    with nothing_written(database), pytest.raises(NotFound):
        record(database, clock, actor_of(world.b.staff["frontdesk"]), call, "reached")


def test_an_operator_may_not_record_a_front_desk_call(database, clock, people, call):
    with nothing_written(database), pytest.raises(Forbidden):
        record(database, clock, people["operator"], call, "reached")


@pytest.mark.parametrize(
    "outcome,given,field",
    [
        ("superseded", {}, "outcome"),
        ("rescheduled", {}, "start_at"),
        ("confirmed", {"start_at": VISIT + timedelta(days=1)}, "start_at"),
        ("reached", {"end_at": VISIT + timedelta(days=1)}, "end_at"),
        ("cancelled", {"provider_id": 1}, "provider_id"),
        ("reached", {"note": "x" * 1001}, "note"),
    ],
)
def test_a_call_record_that_breaks_a_rule_names_the_field_and_writes_nothing(
    database, clock, people, call, outcome, given, field
):
    with nothing_written(database), pytest.raises(ValidationError) as refused:
        record(database, clock, people["frontdesk"], call, outcome, **given)
    assert field in refused.value.fields


def test_two_desks_recording_the_same_call_at_once_finish_it_once(database, clock, people, call):
    start, results = threading.Barrier(2), []

    def desk(who: str) -> None:
        start.wait()
        try:
            record(database, clock, people[who], call, "reached")
            results.append("recorded")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=desk, args=(who,)) for who in ("frontdesk", "frontdesk2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["conflict", "recorded"]
    assert row(database, Reminder, call).call_attempts == 1
