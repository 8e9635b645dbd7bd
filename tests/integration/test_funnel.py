"""The recall funnel against a cohort worked out by hand, on SQLite and PostgreSQL.

The clinic is in Europe/Stockholm; 2026-03-29 is the day clocks go forward (23 hours long): a task opened at
00:30 that night is that day's, and one opened at 00:30 the next night (22:30 UTC on the 29th) is the 30th's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recall.clinic.clinics import get_clinic
from recall.common.db import Database
from recall.common.errors import ValidationError
from recall.queue.attempts import Outcome
from recall.queue.funnel import FunnelRow, recall_funnel
from recall.queue.tasks import CloseReason, TaskReason, TaskStatus
from recall.visits.booking import BookingStatus
from tests.factories import World
from tests.integration._report_rows import attempt, booking, local, task

MINUTE, HOUR = 1 / 1440, 1 / 24


def funnel(
    database: Database, world: World, first: tuple[int, int], last: tuple[int, int], **kw: Any
) -> list[FunnelRow]:
    with database.reader() as s:
        return recall_funnel(
            s, get_clinic(s, world.a.clinic.id), start=local(*first, "00:00"), end=local(*last, "00:00"), **kw
        )


def won(closed: datetime, by: int) -> dict[str, Any]:
    return {"status": TaskStatus.WON, "close_reason": CloseReason.BOOKED, "closed_at": closed, "closed_by_id": by}


@pytest.fixture
def cohort(database: Database, world: World) -> dict[str, int]:
    a = world.a
    op1, op2 = a.staff["operator"].id, a.staff["operator2"].id
    # 29 March. T1: reached on the second try 32 h after it opened, booked, the visit attended 2 days later.
    t1 = task(database, a, created=local(3, 29, "00:30"), **won(local(3, 30, "09:35"), op1))
    attempt(database, t1, op1, local(3, 29, "10:00"))
    attempt(database, t1, op1, local(3, 30, "09:30"), Outcome.BOOKED)
    booking(database, a, t1, local(4, 1, "09:35"), BookingStatus.ATTENDED)
    # T2: opened 23:30, reached 9.5 h later, booked 10 minutes into the call, the patient did not come.
    t2 = task(database, a, created=local(3, 29, "23:30"), **won(local(3, 30, "09:10"), op1))
    attempt(database, t2, op1, local(3, 30, "09:00"), Outcome.BOOKED, minutes=10)
    booking(database, a, t2, local(4, 2, "09:00"), BookingStatus.NO_SHOW)
    # T3: a decline, no service, reached after 1 h by the second operator.
    closed = {"status": TaskStatus.CLOSED, "close_reason": CloseReason.DECLINED, "closed_at": local(3, 29, "13:05")}
    t3 = task(database, a, created=local(3, 29, "12:00"), reason=TaskReason.DECLINED, service=False, **closed)
    attempt(database, t3, op2, local(3, 29, "13:00"), Outcome.DECLINED)
    # T4: nobody tried yet. T6: the patient booked another way.
    task(database, a, created=local(3, 29, "08:00"))
    elsewhere = {
        "status": TaskStatus.WON,
        "close_reason": CloseReason.BOOKED_ELSEWHERE,
        "closed_at": local(3, 29, "15:00"),
    }
    task(database, a, created=local(3, 29, "09:00"), **elsewhere)
    # Service work and another clinic's task stay out.
    task(database, a, created=local(3, 29, "10:00"), reason=TaskReason.REMINDER_CALL)
    task(database, world.b, created=local(3, 29, "10:00"))
    # 30 March, 00:30 (22:30 UTC on the 29th): tried once, unanswered.
    t7 = task(database, a, created=local(3, 30, "00:30"))
    attempt(database, t7, op2, local(3, 30, "10:00"))
    return {"op1": op1, "op2": op2}


def figures(row: FunnelRow) -> tuple[Any, ...]:
    return (row.opened, row.contacted, row.booked, row.attended, row.booked_no_show, row.booked_elsewhere)


def test_the_funnel_counts_each_stage_of_the_cohort_by_the_local_day_it_opened(database, world, cohort):
    rows = funnel(database, world, (3, 28), (3, 31))
    totals = [r for r in rows if r.total]
    assert [(r.period_start.isoformat(), figures(r)) for r in totals] == [
        ("2026-03-28", (0, 0, 0, 0, 0, 0)),
        ("2026-03-29", (5, 3, 2, 1, 1, 1)),
        ("2026-03-30", (1, 0, 0, 0, 0, 0)),
    ]
    day = totals[1]
    assert (day.contact_share, day.booking_share, day.attendance_share) == (3 / 5, 2 / 3, 1 / 2)
    assert totals[2].contact_share == 0 and totals[2].booking_share is None and totals[0].contact_share is None


def test_the_funnel_gives_the_median_and_90th_percentile_days_between_stages(database, world, cohort):
    day = funnel(database, world, (3, 29), (3, 30))[0]
    # To contact: 1 h, 9.5 h and 32 h (the DST night is an hour short).
    assert day.days_to_contact_median == pytest.approx(9.5 * HOUR)
    assert day.days_to_contact_p90 == pytest.approx((9.5 + 0.8 * 22.5) * HOUR)
    assert day.days_to_booking_median == pytest.approx(7.5 * MINUTE)
    assert day.days_to_booking_p90 == pytest.approx(9.5 * MINUTE)
    assert (day.days_to_visit_median, day.days_to_visit_p90) == (pytest.approx(2.0), pytest.approx(2.0))


def test_the_funnel_splits_by_reason_service_and_the_operator_who_worked_the_task_last(database, world, cohort):
    service = world.a.services[0]
    rows = [r for r in funnel(database, world, (3, 29), (3, 31)) if not r.total]
    assert [(str(r.period_start), r.reason, r.service_name, r.staff_name, figures(r)) for r in rows] == [
        ("2026-03-29", "declined", None, "operator2", (1, 1, 0, 0, 0, 0)),
        ("2026-03-29", "undecided", service.name, None, (2, 0, 0, 0, 0, 1)),
        ("2026-03-29", "undecided", service.name, "operator", (2, 2, 2, 1, 1, 0)),
        ("2026-03-30", "undecided", service.name, "operator2", (1, 0, 0, 0, 0, 0)),
    ]
    assert rows[2].service_id == service.id and rows[2].staff_id == cohort["op1"]
    assert rows[2].days_to_contact_median == pytest.approx((9.5 + 32) / 2 * HOUR)


def test_the_filters_narrow_the_cohort_and_its_totals(database, world, cohort):
    mine = funnel(database, world, (3, 29), (3, 30), staff_id=cohort["op1"])
    assert [(r.total, figures(r)) for r in mine] == [(True, (2, 2, 2, 1, 1, 0)), (False, (2, 2, 2, 1, 1, 0))]
    declined = funnel(database, world, (3, 29), (3, 30), reason=TaskReason.DECLINED)
    assert [figures(r) for r in declined] == [(1, 1, 0, 0, 0, 0)] * 2
    by_service = funnel(database, world, (3, 29), (3, 30), service_id=world.a.services[0].id)
    assert figures(by_service[0]) == (4, 2, 2, 1, 1, 1)


def test_iso_weeks_start_on_monday_in_the_clinics_zone(database, world, cohort):
    weeks = [r for r in funnel(database, world, (3, 28), (3, 31), group="week") if r.total]
    assert [(str(r.period_start), str(r.period_end), r.opened) for r in weeks] == [
        ("2026-03-23", "2026-03-29", 5),
        ("2026-03-30", "2026-04-05", 1),
    ]


def test_an_empty_period_has_its_total_row_and_nothing_else(database, world, cohort):
    rows = funnel(database, world, (1, 5), (1, 6))
    assert len(rows) == 1 and rows[0].total and figures(rows[0]) == (0,) * 6
    assert rows[0].days_to_contact_median is None and rows[0].attendance_share is None


def test_a_range_must_run_forwards_and_span_at_most_a_year(database, world):
    with pytest.raises(ValidationError) as backwards:
        funnel(database, world, (3, 2), (3, 1))
    assert list(backwards.value.fields) == ["to"]
    with database.reader() as s, pytest.raises(ValidationError):
        start = datetime(2026, 1, 1, tzinfo=UTC)
        recall_funnel(s, get_clinic(s, world.a.clinic.id), start=start, end=start + timedelta(days=400))
