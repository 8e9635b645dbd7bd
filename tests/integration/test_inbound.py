"""What comes back after a reminder, on every configured database: receipts, call progress, key presses.

The helpers at the top (``make_reminder``, ``new_sid``) are shared with tests/api/test_webhooks.py
and test_inbound_replies.py (SMS replies, and the clinic a reply reaches).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.common.clock import Clock
from recall.common.db import Database
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus
from recall.reminders import inbound
from recall.reminders.inbound import WebhookReceipt
from recall.reminders.planning import DEFAULT_POLICY, Channel, Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import Booking, BookingStatus
from tests import twilio_callbacks
from tests.api.checks import nothing_written
from tests.factories import ClinicWorld, World, actor_of, make_booking

SV_PHONE = "+46701234567"  # clinic a's first patient (and, as it happens, clinic b's)
OFFSET = 45
CLINIC_NUMBER = "+46850000000"  # clinic a's own sender number, where its patients' replies arrive
DEFAULT_FROM = "+46700000000"  # the service-wide default number (TWILIO_DEFAULT_FROM)


def send_from(database: Database, clock: Clock, cw: ClinicWorld, **sender: str) -> None:
    """The clinic's reminder policy (the default one otherwise) names this sender: a number, a Messaging Service."""
    doc = DEFAULT_POLICY.to_json()
    run(database, replace_policy, clock, actor_of(cw.staff["manager"]), {"steps": doc["steps"], "sender": sender})


@pytest.fixture
def world(world: World, database: Database, clock: Clock) -> World:
    """The two clinics; clinic a sends from its own number (CLINIC_NUMBER), b from the service's default."""
    send_from(database, clock, world.a, from_number=CLINIC_NUMBER)
    return world


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID."""
    return prefix + secrets.token_hex(16)


def make_reminder(
    database: Database,
    clock: Clock,
    booking: Booking,
    *,
    channel: Channel = Channel.SMS,
    status: ReminderStatus = ReminderStatus.SENT,
    sid: str | None = None,
    fallback: Fallback = Fallback.NONE,
    sent_at: datetime | None = None,
) -> Reminder:
    """A reminder row as the sender leaves it: sent with a SID (or ``unknown`` without one).

    Its step runs ``OFFSET`` minutes before the visit, which no default step does, so ``reminders_of`` tells
    it (and its fallback) apart from the booking's planned reminders."""
    now = clock.now()
    with database.writer() as s:
        reminder = Reminder(
            clinic_id=booking.clinic_id,
            booking_id=booking.id,
            patient_id=booking.patient_id,
            policy_version=0,
            step_index=0,
            offset_minutes=OFFSET,
            channel=channel,
            fallback=fallback,
            status=status,
            send_at=now,
            due_at=now,
            attempts=1,
            provider_sid=sid,
            provider_status="queued" if sid else None,
            sent_at=sent_at or (now if sid else None),
            created_at=now,
            updated_at=now,
        )
        s.add(reminder)
        s.commit()
        return reminder


def run(database: Database, fn: Any, *args: Any, **kw: Any) -> Any:
    with database.writer() as s:
        return fn(s, *args, **kw)


def reminders_of(database: Database, booking_id: int, *, planned_too: bool = False) -> list[Reminder]:
    """The booking's reminders made by ``make_reminder`` and their fallbacks (``planned_too``: all of them)."""
    stmt = sa.select(Reminder).where(Reminder.booking_id == booking_id).order_by(Reminder.id)
    with database.reader() as s:
        return list(s.scalars(stmt if planned_too else stmt.where(Reminder.offset_minutes == OFFSET)))


def tasks_of(database: Database, patient_id: int) -> list[RecallTask]:
    with database.reader() as s:
        return list(s.scalars(sa.select(RecallTask).where(RecallTask.patient_id == patient_id).order_by(RecallTask.id)))


def status_of(database: Database, booking_id: int) -> BookingStatus:
    with database.reader() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None
        return booking.status


def credit_kinds(database: Database, booking_id: int) -> list[CreditKind]:
    with database.reader() as s:
        return [e.kind for e in entries_for_booking(s, booking_id)]


def sms(
    database: Database,
    clock: Clock,
    body: str,
    phone: str = SV_PHONE,
    sid: str | None = None,
    to: str = CLINIC_NUMBER,
    **kw: Any,
) -> str | None:
    return run(
        database,
        inbound.inbound_sms,
        clock,
        message_sid=sid or new_sid(),
        from_number=phone,
        to_number=to,
        body=body,
        **{"default_from": DEFAULT_FROM, **kw},
    )


# --- delivery receipts --------------------------------------------------------------------------------------------


def test_a_delivery_receipt_marks_the_sms_delivered_and_a_late_sent_changes_nothing(database, clock, world):
    reminder = make_reminder(database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid())
    assert (
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=None,
            sid=reminder.provider_sid,
            status="delivered",
            error_code=None,
        )
        == "updated"
    )
    assert (
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=None,
            sid=reminder.provider_sid,
            status="sent",
            error_code=None,
        )
        == "unchanged"
    )
    [row] = reminders_of(database, reminder.booking_id)
    assert (row.status, row.provider_status) == (ReminderStatus.DELIVERED, "delivered")


@pytest.mark.parametrize(
    "status,code,outcome",
    [
        ("undelivered", 30003, "unreachable"),
        ("failed", 30006, "landline"),
        ("undelivered", 30005, "unknown_destination"),
        ("failed", 12345, "failed"),
    ],
)
def test_an_sms_that_fails_records_why_and_plans_its_voice_fallback_due_now(
    database, clock, world, status, code, outcome
):
    reminder = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid(), fallback=Fallback.VOICE
    )
    for _ in range(2):  # Twilio retries: the fallback is planned once
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=reminder.id,
            sid=reminder.provider_sid,
            status=status,
            error_code=code,
        )
    failed, fallback = reminders_of(database, reminder.booking_id)
    assert (failed.status, failed.error_code, failed.outcome) == (ReminderStatus.FAILED, code, outcome)
    assert (fallback.channel, fallback.status, fallback.fallback_of_id) == (
        Channel.VOICE,
        ReminderStatus.PLANNED,
        failed.id,
    )
    assert fallback.due_at == clock.now() and fallback.fallback is Fallback.NONE


def test_a_failed_step_whose_fallback_is_a_human_call_becomes_an_operators_task(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    reminder = make_reminder(database, clock, booking, sid=new_sid(), fallback=Fallback.OPERATOR_CALL)
    run(
        database,
        twilio_callbacks.message_status,
        clock,
        reminder_id=None,
        sid=reminder.provider_sid,
        status="failed",
        error_code=30003,
    )
    [task] = tasks_of(database, booking.patient_id)
    assert (task.reason, task.origin_booking_id, task.due_at) == (TaskReason.REMINDER_CALL, booking.id, clock.now())
    handed = reminders_of(database, booking.id)[1]
    assert (handed.channel, handed.status, handed.task_id) == (
        Channel.OPERATOR_CALL,
        ReminderStatus.HANDED_OVER,
        task.id,
    )


@pytest.mark.parametrize("why", ["cancelled", "started"])
def test_no_fallback_runs_for_a_booking_that_is_over_or_has_begun(database, clock, world, why):
    booking = make_booking(database, clock, world.a, days=1)
    reminder = make_reminder(database, clock, booking, sid=new_sid(), fallback=Fallback.VOICE)
    if why == "cancelled":
        run(database, cancel_booking, clock, actor_of(world.a.staff["operator"]), booking.id)
    else:
        clock.set(booking.start_at)
    run(
        database,
        twilio_callbacks.message_status,
        clock,
        reminder_id=None,
        sid=reminder.provider_sid,
        status="undelivered",
        error_code=30003,
    )
    assert [r.status for r in reminders_of(database, booking.id)] == [ReminderStatus.FAILED]


def test_a_callback_for_a_sid_we_never_recorded_writes_nothing(database, clock, world):
    make_reminder(database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid())
    with nothing_written(database):
        assert (
            run(
                database,
                twilio_callbacks.message_status,
                clock,
                reminder_id=None,
                sid=new_sid(),
                status="delivered",
                error_code=None,
            )
            == "ignored"
        )
        assert (
            run(database, twilio_callbacks.call_status, clock, reminder_id=None, sid=new_sid("CA"), status="completed")
            == "ignored"
        )


def test_a_callback_resolves_a_reminder_whose_send_ended_unknown_by_the_id_in_its_url(database, clock, world):
    reminder = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=3), status=ReminderStatus.UNKNOWN
    )
    sid = new_sid()
    run(
        database,
        twilio_callbacks.message_status,
        clock,
        reminder_id=reminder.id,
        sid=sid,
        status="sent",
        error_code=None,
    )
    [row] = reminders_of(database, reminder.booking_id)
    assert (row.status, row.provider_sid, row.sent_at) == (ReminderStatus.SENT, sid, clock.now())


def test_a_reminder_id_never_takes_over_a_reminder_that_has_its_own_sid(database, clock, world):
    reminder = make_reminder(database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid())
    with nothing_written(database):
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=reminder.id,
            sid=new_sid(),
            status="failed",
            error_code=30003,
        )


@pytest.mark.parametrize("status", [ReminderStatus.PLANNED, ReminderStatus.SENDING])
def test_a_callback_naming_a_reminder_that_was_never_sent_changes_nothing(database, clock, world, status):
    booking = make_booking(database, clock, world.a, days=3)
    text = make_reminder(database, clock, booking, status=status)
    call = make_reminder(database, clock, booking, channel=Channel.VOICE, status=status)
    with nothing_written(database):
        assert (
            run(
                database,
                twilio_callbacks.message_status,
                clock,
                reminder_id=text.id,
                sid=new_sid(),
                status="delivered",
                error_code=None,
            )
            == "ignored"
        )
        assert (
            run(
                database,
                twilio_callbacks.call_status,
                clock,
                reminder_id=call.id,
                sid=new_sid("CA"),
                status="completed",
            )
            == "ignored"
        )
    assert [r.status for r in reminders_of(database, booking.id)] == [status, status]


def test_a_callback_carrying_another_reminders_sid_changes_neither(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    first = make_reminder(database, clock, booking, sid=new_sid())
    second = make_reminder(database, clock, booking, sid=new_sid())
    with nothing_written(database):
        assert (
            run(
                database,
                twilio_callbacks.message_status,
                clock,
                reminder_id=second.id,
                sid=first.provider_sid,
                status="undelivered",
                error_code=30003,
            )
            == "ignored"
        )
    assert [r.status for r in reminders_of(database, booking.id)] == [ReminderStatus.SENT, ReminderStatus.SENT]


def test_an_ignored_callback_is_logged_without_patient_data(database, clock, world, caplog):
    reminder = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=3), status=ReminderStatus.PLANNED
    )
    with caplog.at_level("INFO", logger="recall.reminders.inbound"):
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=reminder.id,
            sid=new_sid(),
            status="delivered",
            error_code=None,
        )
    assert f"reminder {reminder.id}" in caplog.text and "planned" in caplog.text
    assert SV_PHONE not in caplog.text and "Astrid" not in caplog.text


def test_error_21610_withdraws_sms_consent_as_the_sender_does_and_the_voice_fallback_still_runs(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    reminder = make_reminder(database, clock, booking, sid=new_sid(), fallback=Fallback.VOICE)
    run(
        database,
        twilio_callbacks.message_status,
        clock,
        reminder_id=None,
        sid=reminder.provider_sid,
        status="failed",
        error_code=21610,
    )
    assert [(r.channel, r.outcome) for r in reminders_of(database, booking.id)] == [
        (Channel.SMS, "opted_out"),
        (Channel.VOICE, None),
    ]
    with database.reader() as s:
        patient = s.get(Patient, booking.patient_id)
        assert (patient.consent_sms, patient.opted_out) == (False, False)


# --- call progress ------------------------------------------------------------------------------------------------


def test_a_completed_call_is_delivered_as_answered(database, clock, world):
    reminder = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=3),
        channel=Channel.VOICE,
        sid=new_sid("CA"),
        fallback=Fallback.SMS,
    )
    for status in ("ringing", "in-progress", "completed", "ringing"):
        run(
            database,
            twilio_callbacks.call_status,
            clock,
            reminder_id=reminder.id,
            sid=reminder.provider_sid,
            status=status,
        )
    [row] = reminders_of(database, reminder.booking_id)
    assert (row.status, row.outcome, row.provider_status) == (ReminderStatus.DELIVERED, "answered", "completed")


@pytest.mark.parametrize(
    "status,answered_by,outcome",
    [
        ("busy", None, "busy"),
        ("no-answer", None, "no-answer"),
        ("failed", None, "failed"),
        ("canceled", None, "canceled"),
        ("completed", "machine_end_beep", "machine"),
    ],
)
def test_a_call_nobody_answered_fails_and_falls_back_to_an_sms(database, clock, world, status, answered_by, outcome):
    reminder = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=3),
        channel=Channel.VOICE,
        sid=new_sid("CA"),
        fallback=Fallback.SMS,
    )
    run(
        database,
        twilio_callbacks.call_status,
        clock,
        reminder_id=None,
        sid=reminder.provider_sid,
        status=status,
        answered_by=answered_by,
    )
    call, text = reminders_of(database, reminder.booking_id)
    assert (call.status, call.outcome) == (ReminderStatus.FAILED, outcome)
    assert (text.channel, text.status, text.fallback_of_id) == (Channel.SMS, ReminderStatus.PLANNED, call.id)


# --- the voice script and key presses -----------------------------------------------------------------------------


def test_the_voice_script_speaks_the_patients_language_and_the_clinics_own_text(database, clock, world):
    polish = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=3, patient_id=world.a.patients[1].id),
        channel=Channel.VOICE,
        sid=new_sid("CA"),
    )
    with database.reader() as s:
        text, language = inbound.voice_script(s, polish.id)
    assert language == "pl" and "Nordvik Family Clinic" in text and "naciśnij 1" in text
    run(
        database,
        replace_policy,
        clock,
        actor_of(world.a.staff["manager"]),
        {"steps": [], "templates": {"voice": {"pl": "Wizyta w {clinic}: {date}, {time}. Jedynka potwierdza."}}},
    )
    with database.reader() as s:
        assert inbound.voice_script(s, polish.id)[0].startswith("Wizyta w Nordvik Family Clinic: ")


def press(database: Database, clock: Clock, reminder: Reminder, digits: str) -> inbound.Ack:
    return run(database, inbound.gather, clock, reminder_id=reminder.id, call_sid=reminder.provider_sid, digits=digits)


def voice_reminder(database: Database, clock: Clock, world: World, *, days: int = 3, **kw: Any) -> Reminder:
    return make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=days, **kw),
        channel=Channel.VOICE,
        sid=new_sid("CA"),
    )


def test_pressing_1_confirms_the_booking(database, clock, world):
    reminder = voice_reminder(database, clock, world)
    assert press(database, clock, reminder, "1") == inbound.Ack("confirmed", "sv")
    assert status_of(database, reminder.booking_id) is BookingStatus.CONFIRMED


def test_pressing_2_cancels_once_voids_the_credit_stops_reminders_and_leaves_work_for_an_operator(
    database, clock, world
):
    booking = make_booking(database, clock, world.a, days=3)
    reminder = make_reminder(database, clock, booking, channel=Channel.VOICE, sid=new_sid("CA"))
    for _ in range(2):  # Twilio retried the key press
        assert press(database, clock, reminder, "2").key == "cancelled"
    assert status_of(database, booking.id) is BookingStatus.CANCELLED
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING, CreditKind.VOID]
    assert ReminderStatus.PLANNED not in [r.status for r in reminders_of(database, booking.id, planned_too=True)]
    [task] = tasks_of(database, booking.patient_id)
    assert (task.reason, task.origin_booking_id, task.status) == (
        TaskReason.BOOKING_CANCELLED,
        booking.id,
        TaskStatus.OPEN,
    )
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebhookReceipt)) == 1


def test_pressing_3_asks_for_a_person_once(database, clock, world):
    reminder = voice_reminder(database, clock, world)
    assert press(database, clock, reminder, "3").key == "callback"
    assert press(database, clock, reminder, "3").key == "callback"
    [task] = tasks_of(database, reminder.patient_id)
    assert (task.reason, task.origin_booking_id, task.due_at) == (
        TaskReason.PATIENT_REQUEST,
        reminder.booking_id,
        clock.now(),
    )


@pytest.mark.parametrize("digits", ["1", "2", "3"])
def test_a_key_press_from_a_call_that_is_not_the_reminders_own_changes_nothing(database, clock, world, digits):
    reminder = voice_reminder(database, clock, world)
    other = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=5), channel=Channel.VOICE, sid=new_sid("CA")
    )
    for call_sid in (new_sid("CA"), other.provider_sid):
        with nothing_written(database):
            assert (
                run(database, inbound.gather, clock, reminder_id=reminder.id, call_sid=call_sid, digits=digits).key
                == "goodbye"
            )
    assert status_of(database, reminder.booking_id) is BookingStatus.BOOKED
    assert tasks_of(database, reminder.patient_id) == []


def test_the_call_script_is_read_only_to_the_reminders_own_call(database, clock, world):
    reminder = voice_reminder(database, clock, world)
    planned = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=5),
        channel=Channel.VOICE,
        status=ReminderStatus.PLANNED,
    )
    with database.reader() as s:
        assert inbound.voice_script(s, reminder.id, reminder.provider_sid) is not None
        assert inbound.voice_script(s, reminder.id, new_sid("CA")) is None
        assert inbound.voice_script(s, planned.id, new_sid("CA")) is None


def test_a_call_whose_send_ended_unknown_still_takes_its_key_press(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    reminder = make_reminder(database, clock, booking, channel=Channel.VOICE, status=ReminderStatus.UNKNOWN)
    call_sid = new_sid("CA")
    with database.reader() as s:
        assert inbound.voice_script(s, reminder.id, call_sid) is not None
    assert (
        run(database, inbound.gather, clock, reminder_id=reminder.id, call_sid=call_sid, digits="1").key == "confirmed"
    )
    assert status_of(database, booking.id) is BookingStatus.CONFIRMED


@pytest.mark.parametrize("digits", ["", "0", "9", "*", "12"])
def test_any_other_key_asks_for_the_message_again_and_writes_nothing(database, clock, world, digits):
    reminder = voice_reminder(database, clock, world)
    with nothing_written(database):
        assert press(database, clock, reminder, digits).key == "repeat"


@pytest.mark.parametrize("digits", ["1", "2"])
def test_a_key_press_about_a_booking_that_is_over_changes_nothing_and_says_so(database, clock, world, digits):
    reminder = voice_reminder(database, clock, world)
    run(database, cancel_booking, clock, actor_of(world.a.staff["operator"]), reminder.booking_id)
    expected = "cancelled" if digits == "2" else "unchanged"
    assert press(database, clock, reminder, digits).key == expected
    assert credit_kinds(database, reminder.booking_id) == [CreditKind.PENDING, CreditKind.VOID]
