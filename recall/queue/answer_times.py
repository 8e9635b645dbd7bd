"""Time to answer: how long patients and win-back work wait for an operator's first call.

The definitions, and why:

- Win-back work (every reason but the service calls): from the task's due time to its first attempt. A task
  belongs to the period (local day or ISO week in the clinic's zone) of that first attempt and to the operator
  who made it; an attempt before the due time (a task moved later after it was tried) waits 0.
- A patient's request (reason ``patient_request``: an SMS reply to read, or key 3 in a reminder call): from the
  request (the task's ``created_at``) to its first attempt; the period and operator of that attempt.
- Callbacks: a callback the patient asked for (an attempt with the outcome ``callback_requested``) is on time
  when the task's next attempt starts no later than the callback time plus the clinic's callback hold window
  (``recall_callback_hold_minutes``, as it is set now). A callback belongs to the period of its callback time
  and to the operator who took the request (it is reserved for them). One whose window has passed without an
  attempt is late; one whose window is still open without an attempt is ``callbacks_pending`` and in no
  share. The wait is from the callback time to the next attempt (0 when called early).
- Work never tried yet is not here (it has no answer time yet): the queue health's overdue counts show it.
- Each wait is in seconds, a median and a 90th percentile, per operator and for the team (``staff_id``
  null), each period having a team row. The filters (operator, the task's service and reason) narrow the rows
  the figures are made of, the team rows included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.queue.attempts import ContactAttempt, Outcome
from recall.queue.measures import Group, count_if, period_of, queue_staff, ratio, seconds_between
from recall.queue.quantiles import (
    PERCENTILES,
    as_float,
    ordered_set,
    quantiles,
    read_ordered_sets,
    tune_for_reports,
)
from recall.queue.stats import as_day, kpi_range_check, periods
from recall.queue.tasks import SERVICE_REASONS, RecallTask, TaskReason

WAITS = ("winback", "request", "callback")


@dataclass
class AnswerTimeRow:
    period_start: date
    period_end: date  # inclusive
    staff_id: int | None  # None: the team
    staff_name: str | None = None
    winback_tasks: int = 0
    winback_wait_median: float | None = None
    winback_wait_p90: float | None = None
    requests: int = 0
    request_wait_median: float | None = None
    request_wait_p90: float | None = None
    callbacks: int = 0  # on time or late; the pending ones are not in it
    callbacks_on_time: int = 0
    callbacks_late: int = 0
    callbacks_pending: int = 0
    callback_on_time_share: float | None = None
    callback_wait_median: float | None = None
    callback_wait_p90: float | None = None

    def finish(self) -> AnswerTimeRow:
        self.callbacks = self.callbacks_on_time + self.callbacks_late
        self.callback_on_time_share = ratio(self.callbacks_on_time, self.callbacks)
        return self


COUNTS = ("winback_tasks", "requests", "callbacks_on_time", "callbacks_late", "callbacks_pending")


def _clip(value: Any) -> Any:
    return sa.case((value > 0, value), else_=0)


def _first_attempts(
    session: Session, clinic: Clinic, start: datetime, end: datetime, period: Any, filters: list[Any]
) -> sa.Subquery:
    """Each task's first attempt, when it started in [start, end): the wait of win-back work and requests.

    The first attempt's start and operator are kept on the task (``recall.queue.task_facts``): the range's
    tasks are found by their index, whatever the clinic's history of attempts.
    """
    t = RecallTask
    request = t.reason == TaskReason.PATIENT_REQUEST
    wait = _clip(
        sa.case(
            (request, seconds_between(session, t.first_attempt_at, t.created_at)),
            else_=seconds_between(session, t.first_attempt_at, t.due_at),
        )
    )
    return (
        sa.select(
            t.first_attempt_by_id.label("staff_id"),
            period(t.first_attempt_at).label("period"),
            sa.case((request, "request"), else_="winback").label("kind"),
            wait.label("wait"),
        )
        .where(
            t.clinic_id == clinic.id,
            t.first_attempt_at >= start,
            t.first_attempt_at < end,
            sa.or_(request, t.reason.not_in(SERVICE_REASONS)),
            *filters,
        )
        .subquery()
    )


def _callbacks(
    session: Session, clinic: Clinic, start: datetime, end: datetime, now: datetime, period: Any, filters: list[Any]
) -> sa.Subquery:
    """Each callback whose time falls in [start, end), with the task's next attempt after the request.

    The next attempt's start is kept on the request as attempts are logged (``note_callbacks``): the range's
    callbacks are read from their index alone, and the task only when a filter asks about it.
    """
    cb, t = ContactAttempt, RecallTask
    stmt = sa.select(cb.staff_id, cb.callback_at, cb.next_attempt_at.label("answered_at")).where(
        cb.clinic_id == clinic.id,
        cb.outcome == Outcome.CALLBACK_REQUESTED,
        cb.callback_at >= start,
        cb.callback_at < end,
    )
    if filters:
        stmt = stmt.join(t, t.id == cb.task_id).where(*filters)
    c = stmt.subquery().c
    hold = clinic.recall_callback_hold_minutes * 60
    late_by = seconds_between(session, c.answered_at, c.callback_at)
    # The window is still open now: an attempt may yet come in time.
    still_open = seconds_between(session, sa.literal(now, ContactAttempt.started_at.type), c.callback_at) < hold
    state = sa.case(
        (c.answered_at.is_not(None), sa.case((late_by <= hold, "on_time"), else_="late")),
        (still_open, "pending"),
        else_="late",
    )
    return sa.select(
        c.staff_id,
        period(c.callback_at).label("period"),
        state.label("state"),
        sa.case((c.answered_at.is_not(None), _clip(late_by))).label("wait"),
    ).subquery()


Figures = tuple[Any, int | None, dict[str, int], dict[str, dict[int, Any]]]


def _counts(e: Any) -> dict[str, Any]:
    return {
        "winback_tasks": count_if(e.metric == "winback"),
        "requests": count_if(e.metric == "request"),
        "callbacks_on_time": count_if(e.state == "on_time"),
        "callbacks_late": count_if(e.state == "late"),
        "callbacks_pending": count_if(e.state == "pending"),
    }


def _grouping_sets(session: Session, events: sa.CTE) -> Iterator[Figures]:
    """PostgreSQL: the team and the operators, every count and wait, in one pass (GROUPING SETS, percentile_cont)."""
    e = events.c
    counts = _counts(e)
    waits = [ordered_set(e.value, PERCENTILES, where=e.metric == m, prefix=f"{m}_q") for m in WAITS]
    stmt = sa.select(
        sa.func.grouping(e.staff_id).label("team"),
        e.period,
        e.staff_id,
        *(x.label(n) for n, x in counts.items()),
        *(col for columns in waits for col in columns),
    ).group_by(sa.func.grouping_sets(sa.tuple_(e.period), sa.tuple_(e.period, e.staff_id)))
    first = 3 + len(counts)  # where the percentiles start
    for r in session.connection().execute(stmt):  # Core: plain tuples, no ORM loading around them
        found = read_ordered_sets(r, first, WAITS)
        yield r[1], None if r[0] else r[2], dict(zip(counts, r[3:first], strict=True)), found


def _two_passes(session: Session, events: sa.CTE) -> Iterator[Figures]:
    """SQLite: one pass counts at both levels, one window pass gives the medians (``recall.queue.quantiles``)."""
    # Both levels in one pass: each wait once under its operator, once under the team (staff_id null; an
    # attempt always has an operator, so the key cannot be mistaken).
    ev = events.c
    levels = sa.union_all(
        sa.select(ev.staff_id, ev.period, ev.metric, ev.value, ev.state),
        sa.select(sa.null(), ev.period, ev.metric, ev.value, ev.state),
    ).cte("levels")
    e = levels.c
    counts = _counts(e)
    keys = ("period", "staff_id")
    found = quantiles(session, levels, keys, PERCENTILES)
    grouped = sa.select(*(e[n] for n in keys), *(x.label(n) for n, x in counts.items())).group_by(*(e[n] for n in keys))
    for r in session.execute(grouped):
        per_metric = {metric: found.get((r.period, r.staff_id, metric), {}) for metric in WAITS}
        yield r.period, r.staff_id, {n: int(r._mapping[n]) for n in counts}, per_metric


def answer_times(
    session: Session,
    clinic: Clinic,
    now: datetime,
    *,
    start: datetime,
    end: datetime,
    group: Group = "day",
    staff_id: int | None = None,
    service_id: int | None = None,
    reason: TaskReason | None = None,
) -> list[AnswerTimeRow]:
    """Per period of [start, end): the team row, then each operator with a wait to show, by id."""
    kpi_range_check(start, end)
    tune_for_reports(session)
    period = period_of(session, clinic.timezone, group, start, end)
    filters = [] if service_id is None else [RecallTask.service_id == service_id]
    if reason is not None:
        filters.append(RecallTask.reason == reason)
    first, calls = (
        _first_attempts(session, clinic, start, end, period, filters),
        _callbacks(session, clinic, start, end, now, period, filters),
    )
    f, k = first.c, calls.c
    events = sa.union_all(
        sa.select(f.staff_id, f.period, f.kind.label("metric"), f.wait.label("value"), sa.null().label("state")),
        sa.select(k.staff_id, k.period, sa.literal("callback").label("metric"), k.wait.label("value"), k.state),
    ).cte("events")
    if staff_id is not None:
        events = sa.select(events).where(events.c.staff_id == staff_id).cte("mine")
    passes = _grouping_sets if session.get_bind().dialect.name == "postgresql" else _two_passes
    staff = queue_staff(session, clinic.id)
    span = timedelta(days=6 if group == "week" else 0)
    rows: dict[tuple[date, int], AnswerTimeRow] = {}
    for period_value, sid, counts, found in passes(session, events):
        day = as_day(period_value)
        row = AnswerTimeRow(day, day + span, sid, staff.get(sid or 0), **counts)
        for metric in WAITS:
            q = found.get(metric) or {}
            setattr(row, f"{metric}_wait_median", as_float(q.get(50)))
            setattr(row, f"{metric}_wait_p90", as_float(q.get(90)))
        rows[(day, sid or 0)] = row.finish()
    result: list[AnswerTimeRow] = []
    for day in periods(clinic, start, end, group):
        result.append(rows.get((day, 0)) or AnswerTimeRow(day, day + span, None).finish())
        result.extend(rows[key] for key in sorted(key for key in rows if key[0] == day and key[1]))
    return result
