"""The front desk's day: today's schedule, check-in from a booking or as a walk-in, and the checkout with each of
the four follow-ups doing exactly what POST /api/v1/visits/{id}/checkout does."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.common.actors import Role
from recall.credit.ledger import CreditEntry, CreditKind
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus
from recall.visits import visits
from recall.visits.booking import Booking, BookingStatus, Channel, Source
from recall.visits.visit import FollowUp, Visit, VisitStatus
from tests.console.helpers import post, text
from tests.factories import actor_of, make_booking

pytestmark = pytest.mark.db


def csv_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def checked_in(database, clock, world, patient=0, service=0, provider=0):
    """A visit of clinic a's patient, checked in now by the front desk."""
    cw = world.a
    with database.writer() as s:
        return visits.check_in(
            s,
            clock,
            actor_of(cw.staff["frontdesk"]),
            patient_id=cw.patients[patient].id,
            provider_id=cw.providers[provider].id,
            service_id=cw.services[service].id,
        )


def rows_of(database, model, *where):
    with database.reader() as s:
        return list(s.scalars(sa.select(model).where(*where)))


def test_the_schedule_lists_todays_bookings_with_their_status_and_not_tomorrows(console, database, clock, world):
    today = make_booking(database, clock, world.a, days=0, hour=10)
    later = make_booking(database, clock, world.a, days=0, hour=13, patient_id=world.a.patients[1].id)
    tomorrow = make_booking(database, clock, world.a, days=1, hour=10)
    page = console("frontdesk").get("/console/front-desk/")
    assert page.status_code == 200
    body = text(page)
    assert f'data-booking="{today.id}"' in body and f'data-booking="{later.id}"' in body
    assert f'data-booking="{tomorrow.id}"' not in body
    assert "Astrid Andersson" in body and "Katarzyna Kowalska" in body
    assert 'data-status="booked"' in body
    assert "11:00" in body  # 10:00 UTC is 11:00 in Stockholm, the clinic's zone


def test_the_schedule_refreshes_alone_when_console_js_asks(console, database, clock, world):
    client = console("frontdesk")
    assert 'data-refresh="/console/front-desk/?day=2026-03-02"' in text(client.get("/console/front-desk/"))
    booking = make_booking(database, clock, world.a, days=0, hour=10)  # booked by phone meanwhile
    fragment = text(client.get("/console/front-desk/?day=2026-03-02", headers={"X-Requested-With": "fetch"}))
    assert fragment.strip().startswith('<section class="card" id="desk-schedule"') and "<html" not in fragment
    assert f'data-booking="{booking.id}"' in fragment


def test_the_schedule_downloads_as_csv_with_one_row_per_booking(console, database, clock, world):
    make_booking(database, clock, world.a, days=0, hour=10)
    make_booking(database, clock, world.a, days=0, hour=13, patient_id=world.a.patients[1].id)
    rows = csv_rows(console("frontdesk").get("/console/front-desk/?format=csv"))
    assert rows[0][:3] == ["Start", "End", "Patient"]
    assert [r[2] for r in rows[1:]] == ["Astrid Andersson", "Katarzyna Kowalska"]
    assert rows[1][6] == "booked"
    assert rows[1][0] == "2026-03-02T11:00:00+01:00"  # the clinic's own clock, with its offset


def test_checking_in_from_a_booking_records_the_visit_and_marks_the_booking_attended(console, database, clock, world):
    booking = make_booking(database, clock, world.a, days=0, hour=10)
    client = console("frontdesk")
    answer = post(
        client, "/console/front-desk/check-in", {"patient_id": str(booking.patient_id), "booking_id": str(booking.id)}
    )
    assert answer.status_code == 303
    (visit,) = rows_of(database, Visit, Visit.booking_id == booking.id)
    assert visit.status is VisitStatus.CHECKED_IN and visit.service_id == booking.service_id
    assert visit.checked_in_by_id == world.a.staff["frontdesk"].id
    assert rows_of(database, Booking, Booking.id == booking.id)[0].status is BookingStatus.ATTENDED
    body = text(client.get("/console/front-desk/"))
    assert f"/console/front-desk/visits/{visit.id}/checkout" in body


def test_a_walk_in_is_checked_in_with_the_provider_and_service_chosen(console, database, world):
    cw = world.a
    client = console("frontdesk")
    form = text(client.get(f"/console/front-desk/check-in?patient_id={cw.patients[1].id}"))
    assert "Katarzyna Kowalska" in form and 'for="f-provider_id"' in form
    answer = post(
        client,
        "/console/front-desk/check-in",
        {
            "patient_id": str(cw.patients[1].id),
            "provider_id": str(cw.providers[1].id),
            "service_id": str(cw.services[1].id),
        },
    )
    assert answer.status_code == 303
    (visit,) = rows_of(database, Visit, Visit.patient_id == cw.patients[1].id)
    assert (visit.provider_id, visit.service_id, visit.booking_id) == (cw.providers[1].id, cw.services[1].id, None)


def test_a_second_check_in_of_a_patient_still_checked_in_is_refused_beside_the_patient(console, database, clock, world):
    checked_in(database, clock, world)
    answer = post(console("frontdesk"), "/console/front-desk/check-in", {"patient_id": str(world.a.patients[0].id)})
    assert answer.status_code == 409
    assert 'id="patient_id-error" role="alert">' in text(answer) and "still checked in" in text(answer)
    assert len(rows_of(database, Visit)) == 1


def test_checking_in_hours_before_the_booking_is_refused_beside_the_booking(console, database, clock, world):
    booking = make_booking(database, clock, world.a, days=0, hour=15)  # seven hours from now
    answer = post(
        console("frontdesk"),
        "/console/front-desk/check-in",
        {"patient_id": str(booking.patient_id), "booking_id": str(booking.id)},
    )
    assert answer.status_code == 409
    assert 'id="booking_id-error" role="alert">the appointment has not come yet' in text(answer)
    assert rows_of(database, Visit) == []
    assert rows_of(database, Booking, Booking.id == booking.id)[0].status is BookingStatus.BOOKED


def test_an_unknown_provider_at_check_in_is_refused_beside_it_and_nothing_is_written(console, database, world):
    answer = post(
        console("frontdesk"),
        "/console/front-desk/check-in",
        {"patient_id": str(world.a.patients[0].id), "provider_id": str(world.b.providers[0].id)},
    )
    assert answer.status_code == 422
    assert 'id="provider_id-error" role="alert">' in text(answer)
    assert rows_of(database, Visit) == []


def test_the_checkout_form_opens_with_the_visits_provider_service_and_recommended_date(console, database, clock, world):
    visit = checked_in(database, clock, world)
    body = text(console("frontdesk").get(f"/console/front-desk/visits/{visit.id}/checkout"))
    recommended = (clock.now() + timedelta(days=30)).date().isoformat()  # the check-up's 30 days
    assert f'name="follow_up_date" type="date" value="{recommended}"' in body
    assert f'name="booking_date" type="date" value="{recommended}"' in body
    assert f'<option value="{world.a.providers[0].id}" selected>' in body
    assert f'<option value="{world.a.services[0].id}" selected>' in body
    for choice in ("not_needed", "booked", "declined", "undecided"):
        assert f'value="{choice}"' in body


def test_booked_now_makes_an_in_person_booking_with_front_desk_credit(console, database, clock, world):
    visit = checked_in(database, clock, world)
    day = (clock.now() + timedelta(days=30)).date().isoformat()
    answer = post(
        console("frontdesk"),
        f"/console/front-desk/visits/{visit.id}/checkout",
        {
            "follow_up": "booked",
            "follow_up_date": day,
            "booking_provider": str(world.a.providers[1].id),
            "booking_service": str(world.a.services[0].id),
            "booking_date": day,
            "booking_time": "14:30",
        },
    )
    assert answer.status_code == 200, text(answer)
    (booking,) = rows_of(database, Booking, Booking.source_visit_id == visit.id)
    assert booking.channel is Channel.IN_PERSON and booking.source is Source.VISIT_CHECKOUT
    assert booking.credited_role is Role.FRONTDESK and booking.credited_staff_id == world.a.staff["frontdesk"].id
    assert booking.provider_id == world.a.providers[1].id and booking.follow_up_of_visit_id == visit.id
    # 14:30 on 1 April in Stockholm (summer time, UTC+2) is 12:30 UTC
    assert (booking.start_at.hour, booking.start_at.minute) == (12, 30)
    (entry,) = rows_of(database, CreditEntry, CreditEntry.booking_id == booking.id)
    assert entry.kind is CreditKind.PENDING and entry.staff_id == world.a.staff["frontdesk"].id
    stored = rows_of(database, Visit, Visit.id == visit.id)[0]
    assert stored.follow_up is FollowUp.BOOKED and stored.follow_up_booking_id == booking.id
    assert f'data-booking="{booking.id}"' in text(answer)
    assert rows_of(database, RecallTask) == []


@pytest.mark.parametrize("choice", ["declined", "undecided"])
def test_declined_or_undecided_opens_a_recall_task_for_the_operators(console, database, clock, world, choice):
    visit = checked_in(database, clock, world)
    answer = post(console("frontdesk"), f"/console/front-desk/visits/{visit.id}/checkout", {"follow_up": choice})
    assert answer.status_code == 200, text(answer)
    (task,) = rows_of(database, RecallTask, RecallTask.origin_visit_id == visit.id)
    assert task.status is TaskStatus.OPEN and task.reason is TaskReason(choice)
    assert task.follow_up_date == (clock.now() + timedelta(days=30)).date()
    assert f'data-task="{task.id}"' in text(answer)
    assert rows_of(database, Booking) == []
    assert rows_of(database, Visit, Visit.id == visit.id)[0].follow_up is FollowUp(choice)


def test_follow_up_not_needed_checks_out_and_opens_nothing(console, database, clock, world):
    visit = checked_in(database, clock, world)
    answer = post(console("frontdesk"), f"/console/front-desk/visits/{visit.id}/checkout", {"follow_up": "not_needed"})
    assert answer.status_code == 200
    stored = rows_of(database, Visit, Visit.id == visit.id)[0]
    assert stored.status is VisitStatus.CHECKED_OUT and stored.follow_up is FollowUp.NOT_NEEDED
    assert rows_of(database, RecallTask) == [] and rows_of(database, Booking) == []
    body = text(console("frontdesk").get("/console/front-desk/"))
    assert f'data-visit="{visit.id}"' in body and "Follow-up not needed" in body


def test_a_follow_up_booking_in_the_past_is_refused_beside_the_date_and_nothing_is_written(
    console, database, clock, world
):
    visit = checked_in(database, clock, world)
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    answer = post(
        console("frontdesk"),
        f"/console/front-desk/visits/{visit.id}/checkout",
        {"follow_up": "booked", "booking_date": yesterday, "booking_time": "10:00", "booking_service": ""},
    )
    assert answer.status_code == 422
    assert 'id="booking_date-error" role="alert">must not be in the past' in text(answer)
    assert rows_of(database, Booking) == [] and rows_of(database, CreditEntry) == []
    assert rows_of(database, Visit, Visit.id == visit.id)[0].status is VisitStatus.CHECKED_IN
    assert f'value="{yesterday}"' in text(answer)  # what was typed stays in the form


def test_an_unknown_provider_for_the_follow_up_is_refused_beside_it(console, database, clock, world):
    visit = checked_in(database, clock, world)
    day = (clock.now() + timedelta(days=3)).date().isoformat()
    answer = post(
        console("frontdesk"),
        f"/console/front-desk/visits/{visit.id}/checkout",
        {"follow_up": "booked", "booking_date": day, "booking_time": "10:00", "booking_provider": "999999"},
    )
    assert answer.status_code == 422
    assert 'id="booking_provider-error" role="alert">no provider 999999' in text(answer)
    assert rows_of(database, Booking) == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "follow_up"),
        ({"follow_up": "maybe"}, "follow_up"),
        ({"follow_up": "booked", "booking_date": "", "booking_time": "10:00"}, "booking_date"),
        ({"follow_up": "booked", "booking_date": "2026-13-40", "booking_time": "10:00"}, "booking_date"),
        ({"follow_up": "booked", "booking_date": "9999-12-31", "booking_time": "23:59"}, "booking_date"),
        (
            {"follow_up": "booked", "booking_date": "2026-03-09", "booking_time": "10:00", "booking_provider": "x"},
            "booking_provider",
        ),
        (
            {
                "follow_up": "booked",
                "booking_date": "2026-03-09",
                "booking_time": "10:00",
                "booking_service": "99999999999",
            },
            "booking_service",
        ),
        ({"follow_up": "declined", "follow_up_date": "9999-12-31"}, "follow_up_date"),
        ({"follow_up": "booked", "booking_date": "2026-03-09", "booking_time": "25:99"}, "booking_time"),
        ({"follow_up": "declined", "follow_up_date": "2026-03-01"}, "follow_up_date"),
        ({"follow_up": "declined", "note": "bad\x00text"}, "note"),
    ],
)
def test_bad_checkout_input_is_refused_beside_its_field(console, database, clock, world, form, field):
    visit = checked_in(database, clock, world)
    answer = post(console("frontdesk"), f"/console/front-desk/visits/{visit.id}/checkout", form)
    assert answer.status_code == 422
    assert f'id="{field}-error" role="alert">' in text(answer)
    assert rows_of(database, Visit, Visit.id == visit.id)[0].status is VisitStatus.CHECKED_IN
    assert rows_of(database, RecallTask) == []


def test_another_clinics_visit_and_patient_are_not_found(console, database, clock, world):
    visit = checked_in(database, clock, world)
    other = console("frontdesk", clinic="b")
    assert other.get(f"/console/front-desk/visits/{visit.id}/checkout").status_code == 404
    assert post(other, f"/console/front-desk/visits/{visit.id}/checkout", {"follow_up": "declined"}).status_code == 404
    assert other.get(f"/console/front-desk/check-in?patient_id={world.a.patients[0].id}").status_code == 404
    assert post(other, "/console/front-desk/check-in", {"patient_id": str(world.a.patients[1].id)}).status_code == 404
    assert rows_of(database, Visit, Visit.id == visit.id)[0].status is VisitStatus.CHECKED_IN
    assert rows_of(database, RecallTask) == []


def test_a_manager_works_the_desk_too(console, database, clock, world):
    visit = checked_in(database, clock, world)
    client = console("manager")
    assert client.get("/console/front-desk/").status_code == 200
    answer = post(client, f"/console/front-desk/visits/{visit.id}/checkout", {"follow_up": "undecided"})
    assert answer.status_code == 200
    assert len(rows_of(database, RecallTask, RecallTask.origin_visit_id == visit.id)) == 1


PAGES = [
    "/console/front-desk/",
    "/console/front-desk/?format=csv",
    "/console/front-desk/patients",
    "/console/front-desk/patients/check-phone?phone=0701234567",
    "/console/front-desk/reminder-calls",
    "/console/front-desk/earnings",
]


@pytest.mark.parametrize("path", PAGES)
def test_an_operator_may_not_use_the_desk(console, path):
    assert console("operator").get(path).status_code == 403


def test_an_operator_may_not_check_in_or_out(console, database, clock, world):
    visit = checked_in(database, clock, world)
    client = console("operator")
    assert post(client, "/console/front-desk/check-in", {"patient_id": str(world.a.patients[1].id)}).status_code == 403
    assert post(client, f"/console/front-desk/visits/{visit.id}/checkout", {"follow_up": "declined"}).status_code == 403
    assert rows_of(database, RecallTask) == []


def test_the_desk_sees_its_own_earnings_as_the_api_counts_them(console, database, clock, world):
    visit = checked_in(database, clock, world)
    client = console("frontdesk")
    day = (clock.now() + timedelta(days=30)).date().isoformat()
    post(
        client,
        f"/console/front-desk/visits/{visit.id}/checkout",
        {"follow_up": "booked", "booking_date": day, "booking_time": "10:00"},
    )
    (entry,) = rows_of(database, CreditEntry)
    page = text(client.get("/console/front-desk/earnings"))
    assert f'data-pending="{entry.amount_cents}"' in page
    rows = csv_rows(client.get("/console/front-desk/earnings?format=csv"))
    assert rows[0][0] == "Day" and rows[1][0] == clock.now().date().isoformat() and rows[1][1] == "1"
    # the same numbers as GET /api/v1/earnings/me
    me = client.get("/api/v1/earnings/me", headers={"Authorization": f"Bearer {world.a.tokens['frontdesk']}"})
    assert me.get_json()["pending_cents"] == entry.amount_cents
