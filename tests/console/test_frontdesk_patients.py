"""Patients at the desk: search by name or phone, the phone checked as it is typed, a new patient, and the
reminder calls the desk makes with the outcomes the API offers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.reminders.reminders import CallOutcome, Reminder
from recall.visits.booking import Booking, BookingStatus
from tests.console.helpers import post, text
from tests.console.test_frontdesk import csv_rows, rows_of
from tests.factories import make_booking, make_call

pytestmark = pytest.mark.db


def test_patients_are_found_by_part_of_the_name_or_by_phone_in_any_writing(console, world):
    client = console("frontdesk")
    by_name = text(client.get("/console/front-desk/patients?name=kowal"))
    assert "Katarzyna Kowalska" in by_name and "Astrid Andersson" not in by_name
    by_phone = text(client.get("/console/front-desk/patients?tel=070-123%2045%2067"))
    assert "Astrid Andersson" in by_phone and "Katarzyna Kowalska" not in by_phone
    assert f"/console/front-desk/check-in?patient_id={world.a.patients[0].id}" in by_phone


def test_a_search_never_finds_another_clinics_patients(console, world):
    body = text(console("frontdesk", clinic="b").get("/console/front-desk/patients?name=Kowal"))
    assert f'data-patient="{world.a.patients[1].id}"' not in body
    assert f'data-patient="{world.b.patients[1].id}"' in body


def test_a_search_by_a_number_that_is_none_is_refused_beside_the_phone_box(console):
    answer = console("frontdesk").get("/console/front-desk/patients?tel=12ab")
    assert answer.status_code == 422
    assert 'id="tel-error" role="alert">' in text(answer)


def test_the_search_downloads_as_csv(console):
    rows = csv_rows(console("frontdesk").get("/console/front-desk/patients?name=a&format=csv"))
    assert rows[0] == ["Name", "Phone", "Language", "Opted out"]
    # a cell starting with + is quoted so that no spreadsheet reads it as a formula (csv_response)
    assert sorted(r[1] for r in rows[1:]) == ["'+46701234567", "'+48512345678"]


def test_the_phone_check_answers_the_stored_number_or_why_it_is_not_one(console):
    client = console("frontdesk")
    good = client.get("/console/front-desk/patients/check-phone?phone=070-123 45 67")
    assert good.status_code == 200
    assert good.get_json() == {"valid": True, "normalized": "+46701234567", "error": None}  # read in Sweden
    bad = client.get("/console/front-desk/patients/check-phone?phone=070-12")
    assert (
        bad.status_code == 200 and bad.get_json()["valid"] is False and "not a valid phone" in bad.get_json()["error"]
    )
    letters = client.get("/console/front-desk/patients/check-phone?phone=12345abc").get_json()
    assert letters["valid"] is False and letters["normalized"] is None


def test_the_new_patient_form_asks_the_server_about_the_phone_as_it_is_typed(console):
    body = text(console("frontdesk").get("/console/front-desk/patients"))
    assert 'data-check-url="/console/front-desk/patients/check-phone"' in body
    assert 'id="phone-error"' in body and 'id="phone-hint"' in body


def test_a_new_patient_is_added_and_goes_on_to_check_in(console, database):
    answer = post(
        console("frontdesk"),
        "/console/front-desk/patients",
        {"full_name": "Li Wei", "phone": "+86 138 0013 8000", "language": "zh"},
    )
    assert answer.status_code == 303
    (patient,) = rows_of(database, Patient, Patient.full_name == "Li Wei")
    assert patient.phone_e164 == "+8613800138000" and patient.language.value == "zh"
    assert answer.headers["Location"].endswith(f"/console/front-desk/check-in?patient_id={patient.id}")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"full_name": "Li Wei", "phone": "12345abc"}, "phone"),
        ({"full_name": "  ", "phone": "070-123 45 67"}, "full_name"),
        ({"full_name": "Li Wei", "phone": "070-123 45 67", "language": "xx"}, "language"),
        ({"full_name": "Li\x00Wei", "phone": "070-123 45 67"}, "full_name"),
    ],
)
def test_a_bad_new_patient_is_refused_beside_the_field_and_not_added(console, database, form, field):
    before = len(rows_of(database, Patient))
    answer = post(console("frontdesk"), "/console/front-desk/patients", form)
    assert answer.status_code == 422
    assert f'id="{field}-error" role="alert">' in text(answer)
    assert len(rows_of(database, Patient)) == before


def _call(database, clock, world):
    booking = make_booking(database, clock, world.a, days=1, hour=9)
    return booking, make_call(database, clock, booking.id)


def test_the_reminder_calls_list_shows_the_calls_to_make_and_downloads_as_csv(console, database, clock, world):
    booking, call = _call(database, clock, world)
    client = console("frontdesk")
    body = text(client.get("/console/front-desk/reminder-calls"))
    assert f'data-call="{call}"' in body and "Astrid Andersson" in body
    assert f"/console/front-desk/reminder-calls/{call}" in body
    rows = csv_rows(client.get("/console/front-desk/reminder-calls?format=csv"))
    assert rows[0][:3] == ["Visit", "Patient", "Phone"]
    assert rows[1][1:4] == ["Astrid Andersson", "'+46701234567", "booked"]
    page = text(client.get(f"/console/front-desk/reminder-calls/{call}"))
    for outcome in ("confirmed", "cancelled", "reached", "no_answer", "busy", "voicemail", "wrong_number", "opted_out"):
        assert f'name="outcome" value="{outcome}"' in page
    assert 'name="outcome" value="rescheduled"' in page


def test_a_confirmed_call_confirms_the_booking_and_leaves_the_list(console, database, clock, world):
    booking, call = _call(database, clock, world)
    client = console("frontdesk")
    answer = post(client, f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "confirmed", "note": "ok"})
    assert answer.status_code == 303
    assert rows_of(database, Booking, Booking.id == booking.id)[0].status is BookingStatus.CONFIRMED
    (reminder,) = rows_of(database, Reminder, Reminder.id == call)
    assert reminder.call_outcome is CallOutcome.CONFIRMED and reminder.handled_at is not None
    assert reminder.call_note == "ok"
    assert f'data-call="{call}"' not in text(client.get("/console/front-desk/reminder-calls"))
    assert f'data-call="{call}"' in text(client.get("/console/front-desk/reminder-calls?state=done"))


def test_no_answer_keeps_the_call_on_the_list_for_another_try(console, database, clock, world):
    _, call = _call(database, clock, world)
    client = console("frontdesk")
    assert (
        post(client, f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "no_answer"}).status_code == 303
    )
    assert rows_of(database, Reminder, Reminder.id == call)[0].call_attempts == 1
    assert f'data-call="{call}"' in text(client.get("/console/front-desk/reminder-calls"))


def test_a_rescheduled_call_moves_the_booking_to_the_local_time_typed(console, database, clock, world):
    booking, call = _call(database, clock, world)
    day = (clock.now() + timedelta(days=2)).date().isoformat()
    answer = post(
        console("frontdesk"),
        f"/console/front-desk/reminder-calls/{call}/outcome",
        {"outcome": "rescheduled", "new_date": day, "new_time": "15:00"},
    )
    assert answer.status_code == 303, text(answer)
    moved = rows_of(database, Booking, Booking.id == booking.id)[0]
    assert moved.start_at.isoformat().startswith(f"{day}T14:00")  # 15:00 in Stockholm in March


def test_a_reschedule_into_the_past_is_refused_beside_the_new_date_and_nothing_changes(console, database, clock, world):
    booking, call = _call(database, clock, world)
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    answer = post(
        console("frontdesk"),
        f"/console/front-desk/reminder-calls/{call}/outcome",
        {"outcome": "rescheduled", "new_date": yesterday, "new_time": "10:00"},
    )
    assert answer.status_code == 422
    assert 'id="new_date-error" role="alert">must not be in the past' in text(answer)
    assert rows_of(database, Booking, Booking.id == booking.id)[0].start_at == booking.start_at
    assert rows_of(database, Reminder, Reminder.id == call)[0].call_attempts == 0


def test_a_call_already_done_is_a_conflict_shown_on_the_form(console, database, clock, world):
    _, call = _call(database, clock, world)
    client = console("frontdesk")
    post(client, f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "reached"})
    again = post(client, f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "cancelled"})
    assert again.status_code == 409 and "already done" in text(again)


def test_another_clinics_call_is_not_found(console, database, clock, world):
    booking, call = _call(database, clock, world)
    other = console("frontdesk", clinic="b")
    assert other.get(f"/console/front-desk/reminder-calls/{call}").status_code == 404
    assert (
        post(other, f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "cancelled"}).status_code == 404
    )
    assert rows_of(database, Booking, Booking.id == booking.id)[0].status is BookingStatus.BOOKED
    with_other = text(other.get("/console/front-desk/reminder-calls?state=all"))
    assert f'data-call="{call}"' not in with_other


def test_an_operator_may_not_record_a_call(console, database, clock, world):
    _, call = _call(database, clock, world)
    answer = post(console("operator"), f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": "cancelled"})
    assert answer.status_code == 403
    assert (
        post(console("operator"), "/console/front-desk/patients", {"full_name": "X", "phone": "0701234567"}).status_code
        == 403
    )
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Patient).where(Patient.full_name == "X")) == 0


@pytest.mark.parametrize(
    ("outcome", "booking_status", "patient_flag"),
    [
        ("cancelled", BookingStatus.CANCELLED, None),
        ("reached", BookingStatus.BOOKED, None),
        ("busy", BookingStatus.BOOKED, None),
        ("voicemail", BookingStatus.BOOKED, None),
        ("wrong_number", BookingStatus.BOOKED, "phone_invalid"),
        ("opted_out", BookingStatus.BOOKED, "opted_out"),
    ],
)
def test_each_call_outcome_does_what_the_api_does(
    console, database, clock, world, outcome, booking_status, patient_flag
):
    booking, call = _call(database, clock, world)
    answer = post(console("frontdesk"), f"/console/front-desk/reminder-calls/{call}/outcome", {"outcome": outcome})
    assert answer.status_code == 303
    (stored,) = rows_of(database, Booking, Booking.id == booking.id)
    assert stored.status is booking_status
    (reminder,) = rows_of(database, Reminder, Reminder.id == call)
    assert reminder.call_outcome is CallOutcome(outcome) and reminder.called_by_id == world.a.staff["frontdesk"].id
    (patient,) = rows_of(database, Patient, Patient.id == booking.patient_id)
    for flag in ("phone_invalid", "opted_out"):
        assert getattr(patient, flag) is (flag == patient_flag)
