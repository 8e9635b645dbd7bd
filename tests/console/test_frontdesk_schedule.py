"""The desk's day as the domain reads it (recall.visits.schedule), and every desk page in each of the five
languages, in the clinic's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from recall.clinic.staff import Staff
from recall.visits import visits
from recall.visits.booking_outcomes import cancel
from recall.visits.schedule import day_bounds, day_schedule, visits_under_way
from tests.console.helpers import text
from tests.factories import actor_of, make_booking, make_call

pytestmark = pytest.mark.db


def test_a_local_day_spans_23_hours_when_the_clocks_go_forward():
    start, end = day_bounds(date(2026, 3, 29), "Europe/Stockholm")
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC) and end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_the_day_holds_every_booking_of_the_clinic_in_order_and_says_which_can_still_check_in(database, clock, world):
    cw = world.a
    late = make_booking(database, clock, cw, days=0, hour=15)
    early = make_booking(database, clock, cw, days=0, hour=9, patient_id=cw.patients[1].id)
    gone = make_booking(database, clock, cw, days=0, hour=12, patient_id=cw.patients[1].id)
    make_booking(database, clock, world.b, days=0, hour=10)  # another clinic's
    with database.writer() as s:
        cancel(s, clock, actor_of(cw.staff["frontdesk"]), gone.id, "ill")
        s.commit()
        visits.check_in(s, clock, actor_of(cw.staff["frontdesk"]), patient_id=early.patient_id, booking_id=early.id)
    with database.reader() as s:
        rows = day_schedule(s, s.get_one(type(cw.clinic), cw.clinic.id), clock.now().date())
        assert [r.booking.id for r in rows] == [early.id, gone.id, late.id]
        assert [r.can_check_in for r in rows] == [False, False, True]
        assert rows[0].visit is not None and rows[0].patient.full_name == "Katarzyna Kowalska"
        assert [v.visit.booking_id for v in visits_under_way(s, cw.clinic.id)] == [early.id]


@pytest.mark.parametrize(
    ("language", "word"), [("pl", "Dzisiaj"), ("ru", "Сегодня"), ("sv", "Idag"), ("zh", "今日"), ("en", "Today")]
)
def test_every_desk_page_speaks_the_members_language(console, database, clock, world, language, word):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["frontdesk"].id).language = language
        s.commit()
    booking = make_booking(database, clock, world.a, days=1, hour=9)
    call = make_call(database, clock, booking.id)
    with database.writer() as s:
        visit = visits.check_in(s, clock, actor_of(world.a.staff["frontdesk"]), patient_id=world.a.patients[1].id)
    client = console("frontdesk")
    pages = [
        "/console/front-desk/",
        "/console/front-desk/patients?name=a",
        "/console/front-desk/reminder-calls",
        f"/console/front-desk/reminder-calls/{call}",
        f"/console/front-desk/check-in?patient_id={world.a.patients[0].id}",
        f"/console/front-desk/visits/{visit.id}/checkout",
        "/console/front-desk/earnings",
    ]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert f'<html lang="{language}">' in text(answer)
    assert word in text(client.get("/console/front-desk/"))


@pytest.mark.parametrize("day", ["soon", "9999-12-31", "0001-01-01", "2026-02-30"])
def test_a_day_that_is_no_date_is_refused_beside_the_day_picker(console, day):
    answer = console("frontdesk").get(f"/console/front-desk/?day={day}")
    assert answer.status_code == 422 and 'id="day-error" role="alert">' in text(answer)


def test_another_day_shows_that_days_bookings(console, database, clock, world):
    booking = make_booking(database, clock, world.a, days=3, hour=9)
    day = (clock.now() + timedelta(days=3)).date().isoformat()
    body = text(console("frontdesk").get(f"/console/front-desk/?day={day}"))
    assert f'data-booking="{booking.id}"' in body


def test_the_recommended_follow_up_counts_from_the_visits_local_day(database, clock, world):
    cw = world.a
    clock.advance(timedelta(hours=15, minutes=30))  # 23:30 UTC: already Tuesday in Stockholm
    with database.writer() as s:
        desk = actor_of(cw.staff["frontdesk"])
        check_up = visits.check_in(s, clock, desk, patient_id=cw.patients[0].id, service_id=cw.services[0].id)
        ent = visits.check_in(s, clock, desk, patient_id=cw.patients[1].id, service_id=cw.services[1].id)
        clinic = s.get_one(type(cw.clinic), cw.clinic.id)
        services = {sv.id: s.get_one(type(sv), sv.id) for sv in cw.services}
        assert visits.default_follow_up_date(check_up, services[cw.services[0].id], clinic) == date(2026, 4, 2)
        assert visits.default_follow_up_date(ent, services[cw.services[1].id], clinic) is None
        assert visits.default_follow_up_date(ent, None, clinic) is None
