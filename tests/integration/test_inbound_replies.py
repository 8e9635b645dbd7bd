"""SMS replies to a reminder, on every configured database: what each reply does, and the clinic it reaches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recall.clinic.patients import Patient
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.tasks import TaskReason
from recall.reminders.planning import Channel
from recall.reminders.reminders import ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import Booking, BookingStatus
from tests.api.checks import nothing_written
from tests.factories import actor_of, make_booking, make_clinic, make_patient
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    CLINIC_NUMBER,
    DEFAULT_FROM,
    SV_PHONE,
    credit_kinds,
    make_reminder,
    new_sid,
    reminders_of,
    run,
    send_from,
    sms,
    status_of,
    tasks_of,
    world,
)

# --- SMS replies --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,patient,reply",
    [
        ("1", 0, "Tack, din tid är bekräftad."),
        ("C", 0, "Tack, din tid är bekräftad."),
        ("tak", 1, "Dziękujemy, wizyta jest potwierdzona."),
        (" Potwierdzam! ", 1, "Dziękujemy, wizyta jest potwierdzona."),
    ],
)
def test_a_confirming_reply_confirms_the_booking_and_thanks_in_the_patients_language(
    database, clock, world, body, patient, reply
):
    person = world.a.patients[patient]
    reminder = make_reminder(
        database, clock, make_booking(database, clock, world.a, days=3, patient_id=person.id), sid=new_sid()
    )
    assert sms(database, clock, body, phone=person.phone_e164) == reply
    assert status_of(database, reminder.booking_id) is BookingStatus.CONFIRMED


def test_a_reply_2_cancels_the_booking_once_even_when_twilio_retries(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sid = new_sid()
    assert sms(database, clock, "2", sid=sid) == "Tack, din tid är avbokad."
    assert sms(database, clock, "2", sid=sid) == "Tack, din tid är avbokad."
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING, CreditKind.VOID]
    assert [t.reason for t in tasks_of(database, booking.patient_id)] == [TaskReason.BOOKING_CANCELLED]


def test_stop_opts_out_every_patient_of_the_clinic_with_that_number_and_answers_nothing(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sibling = make_patient(database, clock, world.a.clinic.id, full_name="Erik Andersson", phone=SV_PHONE)
    elsewhere = make_patient(database, clock, world.b.clinic.id, full_name="Erik Andersson", phone=SV_PHONE)
    assert sms(database, clock, "STOP") is None
    with database.reader() as s:
        flags = {p: s.get(Patient, p).opted_out for p in (booking.patient_id, sibling.id, elsewhere.id)}
    assert flags == {booking.patient_id: True, sibling.id: True, elsewhere.id: False}
    assert ReminderStatus.PLANNED not in [r.status for r in reminders_of(database, booking.id, planned_too=True)]


def test_stop_from_a_number_that_got_no_reminder_opts_it_out_in_the_clinic_it_wrote_to_only(database, clock, world):
    assert sms(database, clock, "stop") is None
    with database.reader() as s:
        assert s.get(Patient, world.a.patients[0].id).opted_out and not s.get(Patient, world.b.patients[0].id).opted_out


def test_start_opts_back_in_and_future_bookings_get_their_reminders_again(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sms(database, clock, "STOP")
    assert sms(database, clock, "START") is None
    with database.reader() as s:
        assert not s.get(Patient, booking.patient_id).opted_out
    assert [
        r.channel for r in reminders_of(database, booking.id, planned_too=True) if r.status is ReminderStatus.PLANNED
    ] == [Channel.SMS, Channel.VOICE]


def test_free_text_becomes_one_task_carrying_the_text_even_when_twilio_retries(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sid, text = new_sid(), "Kan vi flytta till fredag eftermiddag?"
    assert sms(database, clock, text, sid=sid) == "Tack. Någon från kliniken ringer upp dig."
    sms(database, clock, text, sid=sid)
    [task] = tasks_of(database, booking.patient_id)
    assert (task.reason, task.request_text, task.origin_booking_id) == (TaskReason.PATIENT_REQUEST, text, booking.id)


def test_a_reply_is_about_the_most_recent_sms_reminder_among_patients_sharing_a_number(database, clock, world):
    child = make_patient(database, clock, world.a.clinic.id, full_name="Liv Andersson", phone=SV_PHONE, language="en")
    older = make_booking(database, clock, world.a, days=3)
    newer = make_booking(database, clock, world.a, days=4, patient_id=child.id)
    make_reminder(database, clock, older, sid=new_sid(), sent_at=clock.now() - timedelta(hours=2))
    make_reminder(database, clock, newer, sid=new_sid(), sent_at=clock.now() - timedelta(hours=1))
    assert sms(database, clock, "1") == "Thank you, your appointment is confirmed."
    assert (status_of(database, older.id), status_of(database, newer.id)) == (
        BookingStatus.BOOKED,
        BookingStatus.CONFIRMED,
    )


def test_a_confirmation_of_a_booking_that_is_over_is_acknowledged_without_a_task(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    run(database, cancel_booking, clock, actor_of(world.a.staff["operator"]), booking.id)
    assert sms(database, clock, "1").startswith("Tack. Den här tiden kan inte längre ändras")
    assert tasks_of(database, booking.patient_id) == []


def test_a_reply_from_a_patient_who_got_no_sms_reminder_is_left_to_an_operator(database, clock, world):
    patient = make_patient(database, clock, world.a.clinic.id, phone="+46707777777")
    assert sms(database, clock, "1", phone=patient.phone_e164) == "Tack. Någon från kliniken ringer upp dig."
    [task] = tasks_of(database, patient.id)
    assert (task.reason, task.request_text, task.origin_booking_id) == (TaskReason.PATIENT_REQUEST, "1", None)


def test_an_sms_from_a_number_no_patient_has_writes_nothing(database, clock, world):
    with nothing_written(database):
        assert sms(database, clock, "1", phone="+46709999999") is None


def test_the_system_actor_that_confirms_and_cancels_is_never_recorded(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sms(database, clock, "2")
    with database.reader() as s:
        row = s.get(Booking, booking.id)
        assert (row.created_by_id, row.credited_staff_id) == (world.a.staff["operator"].id,) * 2
        assert {e.staff_id for e in entries_for_booking(s, booking.id)} == {world.a.staff["operator"].id}


# --- replies reach the clinic they answer -------------------------------------------------------------------------


def test_a_reply_to_clinic_bs_number_acts_in_clinic_b_only_though_the_sender_is_a_patient_of_both(
    database, clock, world
):
    send_from(database, clock, world.b, from_number="+46850000099")
    booking = make_booking(database, clock, world.a, days=3)  # clinic a's, with a fresh SMS reminder to answer
    make_reminder(database, clock, booking, sid=new_sid())
    assert sms(database, clock, "2", to="+46850000099") == "Tack. Någon från kliniken ringer upp dig."
    assert status_of(database, booking.id) is BookingStatus.BOOKED
    assert tasks_of(database, booking.patient_id) == []
    [task] = tasks_of(database, world.b.patients[0].id)
    assert (task.clinic_id, task.reason, task.request_text) == (world.b.clinic.id, TaskReason.PATIENT_REQUEST, "2")
    sms(database, clock, "STOP", to="+46850000099")
    with database.reader() as s:
        assert (s.get(Patient, booking.patient_id).opted_out, s.get(Patient, world.b.patients[0].id).opted_out) == (
            False,
            True,
        )


@pytest.mark.parametrize("body", ["1", "2", "STOP", "START", "Kan jag komma på fredag?"])
def test_a_reply_to_a_number_no_clinic_owns_changes_nothing(database, clock, world, body):
    make_reminder(database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid())
    with nothing_written(database):
        assert sms(database, clock, body, to="+46850000077") is None
        assert sms(database, clock, body, to=None) is None


def test_a_reply_through_a_messaging_service_reaches_the_clinic_that_sends_through_it(database, clock, world):
    service = "MG" + "4" * 32
    send_from(database, clock, world.b, messaging_service_sid=service)
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    sms(database, clock, "STOP", to="+46769999999", messaging_service_sid=service)  # a number of the pool
    with database.reader() as s:
        assert (s.get(Patient, booking.patient_id).opted_out, s.get(Patient, world.b.patients[0].id).opted_out) == (
            False,
            True,
        )


def test_the_default_number_answers_for_the_one_clinic_that_uses_it_and_for_none_when_several_do(
    database, clock, world
):
    sms(database, clock, "Ring mig", to=DEFAULT_FROM)  # clinic b is the only clinic without a number of its own
    assert [t.clinic_id for t in tasks_of(database, world.b.patients[0].id)] == [world.b.clinic.id]
    assert tasks_of(database, world.a.patients[0].id) == []
    third = make_clinic(database, clock, name="Third Clinic")
    make_patient(database, clock, third.id, phone=SV_PHONE)
    with nothing_written(database):
        assert sms(database, clock, "Ring mig igen", to=DEFAULT_FROM) is None
        assert sms(database, clock, "Ring mig igen", to=DEFAULT_FROM, default_from=None) is None


def test_a_number_two_clinics_name_is_nobodys(database, clock, world):
    send_from(database, clock, world.b, from_number=CLINIC_NUMBER)
    make_reminder(database, clock, make_booking(database, clock, world.a, days=3), sid=new_sid())
    with nothing_written(database):
        assert sms(database, clock, "2") is None
