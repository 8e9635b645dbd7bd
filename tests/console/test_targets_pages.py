"""Targets on the console: the operator sees their own beside their earnings (and no one else's), the manager sees
who is on track on the dashboard, and switches the reminder holdout on in the clinic's settings; in Polish too."""

from __future__ import annotations

from datetime import date

import pytest

from recall.clinic.clinics import Clinic
from recall.clinic.staff import Staff
from recall.queue.targets import create_target
from tests.console.helpers import post, text
from tests.console.test_manager_editors import settings_form
from tests.factories import row

pytestmark = pytest.mark.db


@pytest.fixture
def targets(database, clock, world, people):
    with database.writer() as s:
        create_target(
            s, clock, people["manager"], {"kpi": "bookings", "start_value": 40, "start_month": date(2026, 3, 1)}
        )
    with database.writer() as s:
        create_target(s, clock, people["manager"], {"kpi": "conversion", "staff_id": world.a.staff["operator"].id,
                                                     "start_value": 0.25, "start_month": date(2026, 3, 1)})  # fmt: skip
    with database.writer() as s:
        create_target(s, clock, people["manager"], {"kpi": "contacts", "staff_id": world.a.staff["operator2"].id,
                                                     "start_value": 30, "start_month": date(2026, 4, 1)})  # fmt: skip


def test_the_operator_sees_their_own_targets_beside_their_earnings(console, targets):
    page = text(console("operator").get("/console/desk/earnings"))
    assert "My targets this month" in page and 'id="targets"' in page
    assert "Conversion" in page and "25.0 %" in page and "(Team)" in page
    assert "Contacts" not in page, "another operator's target is not shown"


def test_an_operator_without_targets_reads_so(console, world):
    assert "No targets set." in text(console("operator").get("/console/desk/earnings"))


def test_the_manager_sees_who_is_on_track_on_the_dashboard(console, targets):
    page = text(console("manager").get("/console/office/"))
    assert "Who is on track this month" in page
    assert page.count('data-status="') == 3 and 'data-status="not_started"' in page and "operator2" in page


def test_the_targets_card_speaks_polish(console, world, targets, database):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["operator"].id).language = "pl"
        s.commit()
    page = text(console("operator").get("/console/desk/earnings"))
    assert "Moje cele w tym miesiącu" in page and "Konwersja" in page


def test_the_manager_switches_the_reminder_holdout_on_in_the_settings(console, world, database):
    manager = console("manager")
    assert 'id="holdout"' in text(manager.get("/console/office/clinic"))
    answer = post(
        manager, "/console/office/clinic", settings_form(reminder_holdout_percent="5", holdout_human_calls="1")
    )
    assert answer.status_code == 302
    clinic = row(database, Clinic, world.a.clinic.id)
    assert (clinic.reminder_holdout_percent, clinic.holdout_human_calls) == (5, True)
    refused = post(manager, "/console/office/clinic", settings_form(reminder_holdout_percent="80"))
    assert refused.status_code == 422 and 'id="reminder_holdout_percent-error"' in text(refused)
    assert row(database, Clinic, world.a.clinic.id).reminder_holdout_percent == 5
