"""The operator's tables: today's callbacks, their attempts and earnings, each a page and a CSV with the rows."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from recall.common.actors import Role
from recall.queue.attempts import AttemptInput, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.visits.bookings import BookingSlot
from tests.console.helpers import text
from tests.factories import actor_of, make_task

pytestmark = pytest.mark.db


def _rows(answer):
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def worked(database, clock, world):
    """Clinic a's operator booked the first patient (ENT, 1500 pending) and asked the second to call back at
    15:00 Stockholm today, through the use cases the API calls."""
    a = world.a
    me = actor_of(a.staff["operator"])
    first = make_task(database, clock, a.clinic.id, a.patients[0].id, service_id=a.services[0].id)
    second = make_task(database, clock, a.clinic.id, a.patients[1].id, due_at=clock.now() + timedelta(minutes=1))
    with database.writer() as s:
        claim_next(s, clock, me)
        slot = BookingSlot(start_at=clock.now() + timedelta(days=2), service_id=a.services[1].id)
        log_attempt(s, clock, me, first.id, AttemptInput(Outcome.BOOKED, note="=SUM(A1)", booking=slot))
    clock.advance(timedelta(minutes=2))
    with database.writer() as s:
        claim_next(s, clock, me)
        log_attempt(
            s,
            clock,
            me,
            second.id,
            AttemptInput(Outcome.CALLBACK_REQUESTED, callback_at=clock.now().replace(hour=14, minute=0)),
        )
    return first, second


def test_my_callbacks_due_today_as_a_page_and_a_csv(console, world, worked):
    client = console("operator")
    page = text(client.get("/console/desk/callbacks"))
    assert "Katarzyna Kowalska" in page and 'href="tel:+48512345678"' in page
    assert "?format=csv" in page
    rows = _rows(client.get("/console/desk/callbacks?format=csv"))
    assert rows[0][:3] == ["Task", "Patient", "Phone"]
    assert rows[1:] == [
        [
            str(worked[1].id),
            "Katarzyna Kowalska",
            "'+48512345678",  # the CSV helper quotes a leading + against formulas
            "2026-03-02T14:00:00+00:00",
            "2026-03-02 15:00",
            "undecided",
        ]
    ]
    assert _rows(console("operator2").get("/console/desk/callbacks?format=csv"))[1:] == []


def test_my_attempts_as_a_page_and_a_csv(console, worked):
    client = console("operator")
    page = text(client.get("/console/desk/attempts"))
    assert "Callback requested" in page and "Booked" in page
    rows = _rows(client.get("/console/desk/attempts?format=csv"))
    assert [r[4] for r in rows[1:]] == ["booked", "callback_requested"]
    assert rows[1][6] == "'=SUM(A1)", "a note never runs as a spreadsheet formula"
    assert _rows(console("operator2").get("/console/desk/attempts?format=csv"))[1:] == []


def test_my_earnings_by_day_as_a_page_and_a_csv(console, worked):
    client = console("operator")
    page = text(client.get("/console/desk/earnings"))
    assert "SEK15.00" in page
    rows = _rows(client.get("/console/desk/earnings?format=csv"))
    assert rows[1:] == [["2026-03-02", "1", "15.00", "0", "0.00", "0", "0.00", "SEK"]]
    desk = text(client.get("/console/desk/"))
    assert "data-pending>SEK15.00" in desk and "Katarzyna Kowalska" in desk  # beside the card: today's callback


def test_a_manager_sees_their_own_tables(console, world, worked):
    client = console("manager")
    assert world.a.staff["manager"].role is Role.MANAGER
    assert _rows(client.get("/console/desk/attempts?format=csv"))[1:] == []
    assert client.get("/console/desk/callbacks").status_code == 200
