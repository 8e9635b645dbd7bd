"""The managers' reports over HTTP: the answers' shape, the CSV downloads, and a 422 naming the field."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from recall.queue.attempts import Outcome
from recall.queue.tasks import CloseReason, TaskReason, TaskStatus
from recall.visits.booking import BookingStatus
from tests.api.checks import assert_rejected
from tests.factories import Api, World, api_as
from tests.integration._report_rows import attempt, booking, local, task

FUNNEL = "/reports/funnel?from=2026-03-29&to=2026-03-29"
TIMES = "/reports/time-to-answer?from=2026-03-29&to=2026-03-29"


@pytest.fixture
def manager(client: Any, world: World) -> Api:
    return api_as(client, world.a, "manager")


@pytest.fixture
def worked(database: Any, world: World) -> int:
    """One task opened at 08:00 on the DST day, reached and booked at 10:00, the visit attended."""
    a, op = world.a, world.a.staff["operator"].id
    won = {"status": TaskStatus.WON, "close_reason": CloseReason.BOOKED, "closed_at": local(3, 29, "10:05")}
    t = task(database, a, created=local(3, 29, "08:00"), due=local(3, 29, "09:00"), **won)
    attempt(database, t, op, local(3, 29, "10:00"), Outcome.BOOKED)
    booking(database, a, t, local(3, 31, "10:05"), BookingStatus.ATTENDED)
    return op


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.data[:200]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_a_manager_reads_the_funnel_of_a_day_as_json_and_as_csv(manager, worked):
    body = manager.get(FUNNEL).get_json()
    assert body["timezone"] == "Europe/Stockholm" and body["from"] == "2026-03-28T23:00:00+00:00"
    total, mine = body["rows"]
    assert total["total"] is True and (total["opened"], total["contacted"], total["booked"], total["attended"]) == (
        1,
        1,
        1,
        1,
    )
    assert mine["staff_id"] == worked and mine["reason"] == "undecided"
    assert total["days_to_contact_median"] == pytest.approx(2 / 24)
    assert total["days_to_visit_median"] == pytest.approx(2.0)
    response = manager.get(FUNNEL.replace("funnel", "funnel.csv"))
    rows = csv_rows(response)
    assert 'filename="funnel-2026-03-29.csv"' in response.headers["Content-Disposition"]
    assert sorted(rows[0]) == sorted(total) and len(rows) == 2
    assert (rows[0]["period_start"], rows[0]["opened"], rows[0]["attendance_share"]) == ("2026-03-29", "1", "1.0")


def test_a_manager_reads_time_to_answer_as_json_and_as_csv(manager, worked):
    team, mine = manager.get(TIMES).get_json()["rows"]
    assert (team["staff_id"], team["winback_tasks"], team["winback_wait_median"]) == (None, 1, 3600)
    assert mine["staff_id"] == worked and mine["callback_on_time_share"] is None
    rows = csv_rows(manager.get(TIMES.replace("time-to-answer", "time-to-answer.csv")))
    assert [(r["staff_id"], r["winback_wait_p90"]) for r in rows] == [("", "3600.0"), (str(worked), "3600.0")]


def test_an_empty_range_has_one_total_row_per_period(manager):
    rows = manager.get("/reports/funnel?from=2026-01-05&to=2026-01-18&group=week").get_json()["rows"]
    assert [(r["period_start"], r["opened"], r["contact_share"]) for r in rows] == [
        ("2026-01-05", 0, None),
        ("2026-01-12", 0, None),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group=month", "group"),
        ("from=2026-03-02", "to"),
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=2025-01-01&to=2026-03-01", "to"),
        ("staff_id=999999", "staff_id"),
        ("service_id=999999", "service_id"),
        ("reason=nonsense", "reason"),
    ],
)
@pytest.mark.parametrize("path", ["/reports/funnel", "/reports/time-to-answer.csv"])
def test_bad_arguments_are_a_422_naming_the_field(manager, path, query, field):
    assert_rejected(manager.get(f"{path}?{query}"), field)


def test_service_calls_are_no_reason_to_filter_the_funnel_by(manager):
    assert_rejected(manager.get(f"/reports/funnel?reason={TaskReason.REMINDER_CALL.value}"), "reason")
    assert manager.get(f"/reports/time-to-answer?reason={TaskReason.PATIENT_REQUEST.value}").status_code == 200


def test_another_clinics_staff_member_is_no_filter(manager, world):
    other = world.b.staff["operator"].id
    assert_rejected(manager.get(f"/reports/time-to-answer?staff_id={other}"), "staff_id")
