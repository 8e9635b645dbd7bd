"""The reminder call's voice script and the patient's key presses, on every configured database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from recall.common.clock import Clock
from recall.common.db import Database
from recall.credit.ledger import CreditKind
from recall.queue.tasks import TaskReason, TaskStatus
from recall.reminders import inbound
from recall.reminders.inbound import WebhookReceipt
from recall.reminders.planning import Channel
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import BookingStatus
from tests.api.checks import nothing_written
from tests.factories import World, actor_of, make_booking
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    credit_kinds,
    make_reminder,
    new_sid,
    reminders_of,
    run,
    status_of,
    tasks_of,
    world,
)

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
