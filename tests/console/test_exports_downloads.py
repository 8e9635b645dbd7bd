"""The console's export downloads: the same tables as the API's exports, behind the console's sign-in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from recall.visits.booking import Channel
from recall.visits.booking_outcomes import mark_attended
from tests.factories import make_booking, make_task


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_the_dashboard_offers_the_payroll_of_a_month_and_it_downloads(console, database, clock, world, people):
    booking = make_booking(database, clock, world.a, by=people["frontdesk"], channel=Channel.IN_PERSON, days=1)
    clock.set(booking.start_at)
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], booking.id)
    manager = console("manager")
    page = manager.get("/console/office/").get_data(as_text=True)
    assert 'action="/console/office/exports/payroll.csv"' in page and 'type="month"' in page
    rows = _rows(manager.get("/console/office/exports/payroll.csv?month=2026-03"))
    assert rows[-1]["kind"] == "total" and rows[-1]["amount_minor_units"] == "1000"
    assert _rows(manager.get("/console/office/exports/payroll.csv?month="))[-1]["amount_minor_units"] == "0"  # Feb


def test_an_operator_downloads_the_overdue_list_but_not_the_payroll(console, database, clock, world):
    task = make_task(database, clock, world.a.clinic.id, world.a.patients[0].id, due_at=clock.now() - timedelta(days=2))
    operator = console("operator")
    assert "/console/desk/exports/overdue.csv" in operator.get("/console/desk/callbacks").get_data(as_text=True)
    assert [r["task_id"] for r in _rows(operator.get("/console/desk/exports/overdue.csv"))] == [str(task.id)]
    assert operator.get("/console/office/exports/payroll.csv").status_code in (302, 403)
