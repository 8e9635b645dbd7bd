"""Queue health and the staffing forecast, checked against figures worked out by hand.

Times are written in the clinic's zone (``tests.integration._queue_rows``); the history behind the forecast is
rows written directly, because calling hours would not hand out a task at midnight.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from recall.clinic.clinics import get_clinic
from recall.common.errors import ValidationError
from recall.queue.health import queue_health
from recall.queue.staffing import forecast
from recall.queue.tasks import CloseReason, TaskStatus
from tests.integration._queue_rows import STOCKHOLM, add_attempt, add_task, figures, local


def test_queue_health_counts_every_band_and_lens_per_service(database, clock, world, people):
    now, op = clock.now(), people["operator"].staff_id
    hour, day = timedelta(hours=1), timedelta(days=1)
    closed = {"status": TaskStatus.CLOSED, "closed_by_id": op}
    add_task(database, world, service=0, due=now + 2 * day)  # not yet due
    add_task(database, world, service=0, due=now - 2 * hour, lease_holder_id=op, lease_expires_at=now + 10 * hour)
    add_task(database, world, service=0, due=now - 3 * day, lease_holder_id=op, lease_expires_at=now - hour / 60)
    add_task(database, world, service=0, due=now - day, status=TaskStatus.PARKED)
    add_task(
        database, world, service=0, due=now - 9 * day, **closed, close_reason=CloseReason.DECLINED, closed_at=now - day
    )
    add_task(database, world, service=1, due=now - 10 * day)
    add_task(database, world, service=1, due=now - 40 * day)
    add_task(database, world, service=1, due=now + hour, reserved_for_id=op, reserved_until=now + 2 * hour)
    add_task(
        database,
        world,
        service=1,
        due=now - 9 * day,
        **closed,
        close_reason=CloseReason.UNREACHABLE,
        closed_at=now - 5 * day,
    )
    add_task(database, world, due=now - day)  # exactly one day overdue: "1 to 7 days"
    add_task(database, world, due=now)  # due this instant: "under 1 day"
    add_task(database, world, due=now - hour / 12, reserved_for_id=op, reserved_until=now - hour / 60)  # lapsed
    add_task(
        database, world, due=now - 60 * day, **closed, close_reason=CloseReason.UNREACHABLE, closed_at=now - 31 * day
    )  # outside the 30-day window
    add_task(
        database, world, due=now - 60 * day, **closed, close_reason=CloseReason.UNREACHABLE, closed_at=now - 29 * day
    )
    add_task(database, world, cw="b", due=now - day)  # the other clinic's
    with database.reader() as s:
        health = queue_health(s, get_clinic(s, world.a.clinic.id), now)

    names = (
        "open",
        "not_yet_due",
        "due_now",
        "overdue_under_1_day",
        "overdue_1_to_7_days",
        "overdue_7_to_30_days",
        "overdue_over_30_days",
        "leased",
        "callbacks",
        "parked",
        "unreachable",
    )
    assert figures(health.totals, *names) == (9, 2, 7, 3, 2, 1, 1, 1, 1, 1, 2)
    general, ent, none = health.services
    assert (general.service_id, general.service_name) == (world.a.services[0].id, "General check-up")
    assert figures(general, *names) == (3, 1, 2, 1, 1, 0, 0, 1, 0, 1, 0)
    assert (ent.service_name, figures(ent, *names)) == ("ENT consultation", (3, 1, 2, 0, 0, 1, 1, 0, 1, 0, 1))
    assert (none.service_id, none.service_name, figures(none, *names)) == (
        None,
        "none",
        (3, 0, 3, 2, 1, 0, 0, 0, 0, 0, 1),
    )
    assert health.unreachable_since == now - 30 * day and health.surge.active is False


# --- the staffing forecast -------------------------------------------------------------------------------------------


def test_the_forecast_turns_the_queue_and_its_history_into_operators(database, clock, world, people):
    now, day = clock.now(), timedelta(days=1)
    long_ago, recently = now - 40 * day, now - 10 * day
    for k in range(10):  # due now
        add_task(database, world, due=now - k * timedelta(hours=1), created=long_ago)
    for due in (
        now + timedelta(hours=1),
        now + day,
        now + day,
        now + 36 * timedelta(hours=1),
        now + 2 * day,
        now + 2 * day,
    ):  # due within the 2-day window (its last instant included), created lately
        add_task(database, world, due=due, created=recently)
    for due in (now + 2 * day + timedelta(seconds=1), now + 3 * day, now + 10 * day):  # later: not counted
        add_task(database, world, due=due, created=long_ago)
    add_task(database, world, due=now - day, created=long_ago, status=TaskStatus.PARKED)
    history = [(TaskStatus.WON, CloseReason.BOOKED, n) for n in (1, 2, 3, 2)] + [
        (TaskStatus.CLOSED, reason, n)
        for reason, n in (
            (CloseReason.DECLINED, 2),
            (CloseReason.UNREACHABLE, 5),
            (CloseReason.OPTED_OUT, 1),
            (CloseReason.NOT_NEEDED, 0),
        )
    ]
    closed = [
        add_task(
            database,
            world,
            due=now - 20 * day,
            created=now - 20 * day,
            status=status,
            close_reason=reason,
            attempt_count=n,
            closed_at=now - 5 * day,
        )
        for status, reason, n in history
    ]
    add_task(
        database,
        world,
        due=now - 60 * day,
        created=now - 28 * day - timedelta(seconds=1),
        status=TaskStatus.CLOSED,
        close_reason=CloseReason.UNREACHABLE,
        attempt_count=30,
        closed_at=now - 29 * day,
    )
    # Attempts: two operators, each two stretches of four 5-minute calls 2 minutes apart.
    for who, feb in (("operator", 20), ("operator2", 21)):
        for first in ("10:00", "13:00"):
            h, m = map(int, first.split(":"))
            for k in range(4):
                start = datetime(2026, 2, feb, h, m + 7 * k, tzinfo=STOCKHOLM)
                add_attempt(database, closed[k], people[who], start, start + timedelta(minutes=5))
    add_attempt(database, closed[0], people["operator"], local(10, "10:00", month=1), local(10, "11:00", month=1))

    with database.reader() as s:
        result = forecast(s, get_clinic(s, world.a.clinic.id), now, target_days=2, hours_per_day=2, occupancy=0.5)
    # Work: 10 due now + 6 due in the window; 14 tasks created in 28 days -> 0.5 a day -> 1 more in 2 days.
    assert (result.due_now, result.due_in_window, result.created_in_lookback) == (10, 6, 14)
    assert (result.incoming_tasks, result.work_tasks) == (pytest.approx(1.0), pytest.approx(17.0))
    # History: 16 attempts over 8 closed tasks = 2 a task; 16 attempts for 4 wins; 300 s calls, 120 s gaps.
    assert (result.attempts_per_task, result.attempts_per_win) == (2.0, 4.0)
    assert (result.handle_seconds, result.wrap_up_seconds, result.defaults_used) == (
        pytest.approx(300),
        pytest.approx(120),
        [],
    )
    # 17 x 2 = 34 attempts x 420 s = 14280 s = 3.97 h; an operator gives 2 days x 2 h x 0.5 = 2 h -> ceil(1.98) = 2.
    assert (result.total_attempts, result.workload_hours) == (pytest.approx(34), pytest.approx(14280 / 3600))
    assert (result.hours_per_operator, result.operators_needed, result.operators_active) == (2.0, 2, 2)
    assert [(a.attempts, round(a.working_hours * 60)) for a in result.active_operators] == [(8, 52), (8, 52)]


def test_without_history_the_forecast_uses_and_names_its_defaults(database, clock, world):
    now = clock.now()
    for _ in range(5):
        add_task(database, world, due=now, created=now - timedelta(days=40))
    with database.reader() as s:
        clinic = get_clinic(s, world.a.clinic.id)
        result = forecast(s, clinic, now, target_days=1, hours_per_day=1, occupancy=0.5)
        with pytest.raises(ValidationError) as refused:
            forecast(s, clinic, now, target_days=1, hours_per_day=1, occupancy=0)
    assert refused.value.fields.keys() == {"occupancy"}
    assert result.defaults_used == ["attempts_per_task", "handle_seconds", "wrap_up_seconds"]
    # 5 tasks x 3 attempts x (240 + 60) s = 4500 s against 1 h x 0.5 = 1800 s an operator -> ceil(2.5) = 3.
    assert (result.attempts_per_task, result.seconds_per_attempt, result.attempts_per_win) == (3.0, 300.0, None)
    assert (result.operators_needed, result.operators_active, result.active_operators) == (3, 0, [])
