"""How many operators it takes to clear the recall queue in time: a workload forecast from the queue and its history.

The arithmetic, in the order a manager would check it:

1. Work to clear = open tasks due now or within the next ``target_days`` (the backlog; parked tasks
   wait for a phone number and are left out) + the tasks expected to arrive meanwhile (tasks created
   per day over the lookback period x ``target_days``; in a steady state tasks fall due at the rate
   they are created).
2. Attempts = work x attempts per task, where attempts per task is the mean ``attempt_count`` of the
   tasks that left the queue (won or closed, for any reason) in the lookback period. Tasks that closed
   with no call at all (the patient booked at the desk) count too: part of today's backlog will end
   the same way.
3. Seconds per attempt = mean handle time (``duration_seconds``) + mean wrap-up (the gap between
   one attempt's end and the next start within a working stretch, as the team KPIs define it).
4. Operators = ceil(attempts x seconds per attempt / (target_days x hours_per_day x 3600 x occupancy)).

Without history a figure falls back to a documented default (3 attempts per task, 240 s handle,
60 s wrap-up), and ``defaults_used`` names every figure that did, so nobody mistakes a guess for a
measurement. ``attempts_per_win`` (attempts logged per task won) is reported for reference only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.errors import ValidationError
from recall.queue.measures import attempt_totals, queue_staff, ratio
from recall.queue.tasks import CloseReason, RecallTask, TaskStatus

DEFAULT_ATTEMPTS_PER_TASK = 3.0
DEFAULT_HANDLE_SECONDS = 240.0
DEFAULT_WRAP_UP_SECONDS = 60.0
LIMITS: dict[str, tuple[float, float]] = {
    "target_days": (1, 90),
    "hours_per_day": (1, 24),
    "occupancy": (0.1, 1),
    "lookback_days": (1, 365),
}


@dataclass
class ActiveOperator:
    staff_id: int
    name: str
    attempts: int
    working_hours: float


@dataclass
class Forecast:
    now: datetime
    # The inputs asked for.
    target_days: int
    hours_per_day: float
    occupancy: float
    lookback_days: int
    # The work.
    due_now: int
    due_in_window: int
    backlog_tasks: int
    created_in_lookback: int
    incoming_per_day: float
    incoming_tasks: float
    work_tasks: float
    # What the history says (or the defaults, named in defaults_used).
    lookback_attempts: int
    lookback_tasks_closed: int
    lookback_tasks_won: int
    attempts_per_task: float
    attempts_per_win: float | None
    handle_seconds: float
    wrap_up_seconds: float
    defaults_used: list[str]
    # The result.
    total_attempts: float
    seconds_per_attempt: float
    workload_hours: float
    hours_per_operator: float
    operators_needed: int
    # For comparison: who worked the queue in the lookback period.
    operators_active: int
    active_operators: list[ActiveOperator] = field(default_factory=list)


def _check(**values: float) -> None:
    for name, value in values.items():
        low, high = LIMITS[name]
        if not low <= value <= high:  # NaN fails this too
            raise ValidationError(f"must be between {low:g} and {high:g}", field=name)


def forecast(
    session: Session,
    clinic: Clinic,
    now: datetime,
    *,
    target_days: int,
    hours_per_day: float,
    occupancy: float,
    lookback_days: int = 28,
) -> Forecast:
    """The operators needed to clear, within ``target_days``, the work due in that window."""
    _check(target_days=target_days, hours_per_day=hours_per_day, occupancy=occupancy, lookback_days=lookback_days)
    t = RecallTask
    since, horizon = now - timedelta(days=lookback_days), now + timedelta(days=target_days)
    is_open = sa.and_(t.clinic_id == clinic.id, t.status == TaskStatus.OPEN)
    due_now, due_in_window = session.execute(
        sa.select(sa.func.count().filter(t.due_at <= now), sa.func.count().filter(t.due_at > now)).where(
            is_open, t.due_at <= horizon
        )
    ).one()
    created = (
        session.scalar(
            sa.select(sa.func.count()).where(t.clinic_id == clinic.id, t.created_at >= since, t.created_at < now)
        )
        or 0
    )
    closed, closed_attempts, won = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(t.attempt_count), 0),
            sa.func.count().filter(t.close_reason == CloseReason.BOOKED),
        ).where(
            t.clinic_id == clinic.id,
            t.status.in_((TaskStatus.WON, TaskStatus.CLOSED)),
            t.closed_at >= since,
            t.closed_at < now,
        )
    ).one()

    staff = queue_staff(session, clinic.id)
    per_staff = attempt_totals(session, clinic, since, now, sorted(staff), None)
    logged = int(sum(v["attempts"] for v in per_staff.values()))
    handle = ratio(sum(v["handle_seconds"] for v in per_staff.values()), logged)
    wrap = ratio(
        sum(v["wrap_up_seconds"] for v in per_staff.values()), sum(v["wrap_up_gaps"] for v in per_staff.values())
    )
    per_task = ratio(int(closed_attempts), closed)
    defaults_used = [
        name
        for name, value in (("attempts_per_task", per_task), ("handle_seconds", handle), ("wrap_up_seconds", wrap))
        if value is None
    ]

    backlog = due_now + due_in_window
    incoming_per_day = created / lookback_days
    work = backlog + incoming_per_day * target_days
    attempts_per_task = per_task if per_task is not None else DEFAULT_ATTEMPTS_PER_TASK
    seconds_per_attempt = (handle if handle is not None else DEFAULT_HANDLE_SECONDS) + (
        wrap if wrap is not None else DEFAULT_WRAP_UP_SECONDS
    )
    total_attempts = work * attempts_per_task
    workload = total_attempts * seconds_per_attempt
    hours_per_operator = target_days * hours_per_day * occupancy
    # Rounded first, so that 2.0000000001 operators from float noise is 2, not 3.
    needed = math.ceil(round(workload / (hours_per_operator * 3600), 6))
    active = [
        ActiveOperator(
            staff_id=sid, name=staff[sid], attempts=int(v["attempts"]), working_hours=v["working_seconds"] / 3600
        )
        for (sid, _), v in sorted(per_staff.items())
        if v["attempts"]
    ]
    return Forecast(
        now=now,
        target_days=target_days,
        hours_per_day=hours_per_day,
        occupancy=occupancy,
        lookback_days=lookback_days,
        due_now=due_now,
        due_in_window=due_in_window,
        backlog_tasks=backlog,
        created_in_lookback=created,
        incoming_per_day=incoming_per_day,
        incoming_tasks=incoming_per_day * target_days,
        work_tasks=work,
        lookback_attempts=logged,
        lookback_tasks_closed=closed,
        lookback_tasks_won=won,
        attempts_per_task=attempts_per_task,
        attempts_per_win=ratio(logged, won),
        handle_seconds=handle if handle is not None else DEFAULT_HANDLE_SECONDS,
        wrap_up_seconds=wrap if wrap is not None else DEFAULT_WRAP_UP_SECONDS,
        defaults_used=defaults_used,
        total_attempts=total_attempts,
        seconds_per_attempt=seconds_per_attempt,
        workload_hours=workload / 3600,
        hours_per_operator=hours_per_operator,
        operators_needed=needed,
        operators_active=len(active),
        active_operators=active,
    )
