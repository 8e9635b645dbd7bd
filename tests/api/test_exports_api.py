"""The exports over HTTP: the payroll accounting gets, the queue and overdue lists operators hand out."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from recall.visits.booking import Channel, Source
from recall.visits.booking_outcomes import mark_attended
from tests.factories import api_as, make_booking, make_patient, make_task


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_the_payroll_csv_has_each_earned_line_each_staff_total_and_the_clinic_total(
    client, database, clock, world, people
):
    a = world.a
    desk = make_booking(database, clock, a, by=people["frontdesk"], channel=Channel.IN_PERSON, days=1)
    task = make_task(database, clock, a.clinic.id, a.patients[1].id)
    won = make_booking(database, clock, a, patient_id=a.patients[1].id, source=Source.RECALL_TASK,
                       recall_task_id=task.id, days=1, hour=11)  # fmt: skip
    for booking in (desk, won):
        clock.set(booking.start_at)
        with database.writer() as s:
            mark_attended(s, clock, people["frontdesk"], booking.id)

    rows = _rows(api_as(client, a, "manager").get("/exports/payroll.csv?month=2026-03"))
    lines = [(r["staff_name"], r["day"], r["kind"], r["bookings"], r["amount"], r["amount_minor_units"]) for r in rows]
    assert ("frontdesk", "2026-03-03", "desk", "1", "10.00", "1000") in lines
    assert ("operator", "2026-03-03", "recall", "1", "15.00", "1500") in lines
    assert ("operator", "", "total", "1", "15.00", "1500") in lines
    assert ("operator2", "", "total", "0", "0.00", "0") in lines  # an earner with nothing this month
    assert rows[-1]["staff_id"] == "" and rows[-1]["kind"] == "total" and rows[-1]["amount_minor_units"] == "2500"
    assert {r["currency"] for r in rows} == {"SEK"}  # the clinic's currency
    assert all(r["staff_name"] != "manager" for r in rows)
    assert {r["staff_name"] for r in rows} <= {"frontdesk", "frontdesk2", "operator", "operator2", ""}


def test_the_payroll_defaults_to_the_last_complete_month(client, world, clock):
    response = api_as(client, world.a, "manager").get("/exports/payroll.csv")
    assert 'filename="payroll-2026-02.csv"' in response.headers["Content-Disposition"]  # the clock is in March
    assert _rows(response)[-1]["amount_minor_units"] == "0"


def test_a_bad_month_is_a_422_naming_it_and_the_payroll_is_the_managers(client, world):
    bad = api_as(client, world.a, "manager").get("/exports/payroll.csv?month=2026-13")
    assert bad.status_code == 422 and "month" in bad.get_json()["fields"]
    assert api_as(client, world.a, "operator").get("/exports/payroll.csv").status_code == 403
    assert api_as(client, world.a, "frontdesk").get("/exports/overdue.csv").status_code == 403


def test_the_overdue_csv_lists_the_clinics_own_overdue_tasks_and_guards_against_formulas(
    client, database, clock, world
):
    a = world.a
    tricky = make_patient(database, clock, a.clinic.id, full_name='=HYPERLINK("http://x")', phone="+46 70 111 22 33")
    overdue = make_task(database, clock, a.clinic.id, tricky.id, due_at=clock.now() - timedelta(days=3))
    make_task(database, clock, a.clinic.id, a.patients[0].id, due_at=clock.now() + timedelta(days=3))
    make_task(database, clock, world.b.clinic.id, world.b.patients[0].id, due_at=clock.now() - timedelta(days=9))

    rows = _rows(api_as(client, a, "operator").get("/exports/overdue.csv"))
    assert [(r["task_id"], r["days_overdue"]) for r in rows] == [(str(overdue.id), "3")]
    assert rows[0]["patient_name"].startswith("'=")  # a spreadsheet shows it, never runs it
    assert rows[0]["phone"] == "'+46701112233"  # quoted too: a leading + starts a formula
    assert rows[0]["due"].endswith("+01:00")
    queue = _rows(api_as(client, a, "manager").get("/exports/recall-queue.csv"))
    assert len(queue) == 2 and queue[1]["days_overdue"] == ""
