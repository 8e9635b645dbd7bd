"""What comes back after a reminder, on every configured database: delivery receipts and call progress.

The key presses and the voice script are in test_inbound_voice.py; the shared scene in inbound_scene.py.
"""

from __future__ import annotations

import pytest

from recall.clinic.patients import Patient
from recall.queue.tasks import TaskReason
from recall.reminders.planning import Channel, Fallback
from recall.reminders.reminders import ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from tests import twilio_callbacks
from tests.api.checks import nothing_written
from tests.factories import actor_of, make_booking
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    SV_PHONE,
    make_reminder,
    new_sid,
    reminders_of,
    run,
    tasks_of,
    world,
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
