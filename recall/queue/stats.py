"""How the team worked the recall queue: read-only KPIs for managers (how the queue stands now: ``health``).

The database counts (GROUP BY, window functions), so the cost follows the rows of the asked range,
never a Python loop over every task. The definitions, and why:

- KPI periods are local days or ISO weeks (Monday) in the clinic's zone. An attempt belongs to the
  period of its start, a task closure to that of ``closed_at``, a booking to that of ``created_at``.
- Working time: an operator's attempts form stretches; a gap of more than 30 minutes between the
  latest end so far and the next start ends one (exactly 30 minutes still joins). A stretch's span,
  first start to last end, is working time. Each attempt carries the part of the span it adds (the
  idle gap before it, when it joins, plus its own call), so a stretch splits cleanly at midnight and
  a range that starts mid-stretch counts the same as a longer one. Wrap-up is the mean of those gaps.
- Conversion: of the win-back tasks an operator closed through the queue (won; declined, unreachable,
  opted out), the share won. Desk corrections (booked at the desk, not needed) are not the operator's
  doing, and service calls (a reminder call, a patient's request) win nobody back, so neither counts.
- First-contact resolution: of the tasks the operator won, those whose booked attempt was the first
  answered one on the task (earlier unanswered tries do not spoil it).
- Realized rate: of the bookings credited to the operator (by any path) created in the period, the
  attended share of those whose outcome is known (attended, no-show, cancelled). Bookings still ahead
  are reported as ``bookings_pending`` and left out, so a recent period is not dragged down by visits
  that have not happened yet.
- Every ratio comes with its numerator and denominator, and is None when the denominator is 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from recall.clinic.clinics import Clinic
from recall.clinic.staff import Staff
from recall.common.actors import Role
from recall.common.clock import UTC
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day, zone
from recall.queue.attempts import MAX_DURATION_SECONDS, ContactAttempt, Outcome
from recall.queue.tasks import SERVICE_REASONS, CloseReason, RecallTask, TaskStatus
from recall.visits.booking import ACTIVE, Booking, BookingStatus

Group = Literal["day", "week"]
STRETCH_GAP = timedelta(minutes=30)
# 366 local days; one hour of slack for a range that crosses a DST change.
MAX_KPI_RANGE = timedelta(days=366, hours=1)
# An attempt that ends within STRETCH_GAP before the range started at most this long before it.
_LOOKBACK = STRETCH_GAP + timedelta(seconds=MAX_DURATION_SECONDS)
# Closures an operator makes from the queue; the conversion denominator.
QUEUE_CLOSE_REASONS = (CloseReason.BOOKED, CloseReason.DECLINED, CloseReason.UNREACHABLE, CloseReason.OPTED_OUT)
QUEUE_ROLES = (Role.OPERATOR, Role.MANAGER)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def count_if(condition: Any) -> Any:
    """How many rows of the group meet ``condition`` (0, not NULL, for none)."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sum(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _offsets(zone_name: str, lo: datetime, hi: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset over [lo, hi] as (until, seconds) segments; the last one has no end.

    Steps a day at a time and bisects to the second where the offset changes (zones change at
    most a few times a year, never twice in a day).
    """
    tz = zone(zone_name)

    def offset(ts: int) -> int:
        shift = datetime.fromtimestamp(ts, tz).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    segments: list[tuple[datetime | None, int]] = []
    here, stop = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    current = offset(here)
    while here < stop:
        there = min(here + 86_400, stop)
        if offset(there) != current:
            a, b = here, there
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if offset(mid) == current else (a, mid)
            segments.append((datetime.fromtimestamp(b, UTC), current))
            current, there = offset(b), b
        here = there
    return [*segments, (None, current)]


def period_of(session: Session, zone_name: str, group: Group, lo: datetime, hi: datetime) -> Callable[[Any], Any]:
    """A function from an instant column to the SQL for its local day (or that week's Monday).

    PostgreSQL converts with its own zone database; SQLite has none, so the instant is shifted by
    the zone's offset, a CASE over the few DST segments between ``lo`` and ``hi``.
    """
    if session.get_bind().dialect.name == "postgresql":

        def pg(column: Any) -> Any:
            local = sa.func.timezone(zone_name, column)
            return sa.cast(sa.func.date_trunc("week", local) if group == "week" else local, sa.Date)

        return pg
    segments = _offsets(zone_name, lo, hi)
    week = ["weekday 0", "-6 days"] if group == "week" else []

    def sqlite(column: Any) -> Any:
        shift: Any = sa.literal(f"{segments[-1][1]:+d} seconds")
        if len(segments) > 1:
            shift = sa.case(*((column < until, f"{off:+d} seconds") for until, off in segments[:-1]), else_=shift)
        return sa.func.date(column, shift, *week)

    return sqlite


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    # julianday is a double of days: about 10 microseconds of noise, so exactly 30 minutes could read as
    # 1800.00001 s and break a stretch. Rounded to the millisecond, it is exact again.
    return sa.func.round((sa.func.julianday(later) - sa.func.julianday(earlier)) * 86_400.0, 3)


Key = tuple[int, Any]
Totals = dict[Key, dict[str, float]]


def _grouped(session: Session, inner: Any, columns: dict[str, Any]) -> Totals:
    """Aggregate a subquery with ``staff_id`` and ``period`` columns into {(staff, period): {name: value}}."""
    rows = session.execute(
        sa.select(inner.c.staff_id, inner.c.period, *(e.label(n) for n, e in columns.items())).group_by(
            inner.c.staff_id, inner.c.period
        )
    )
    return {(r.staff_id, r.period): {n: float(r._mapping[n] or 0) for n in columns} for r in rows}


def attempt_totals(
    session: Session,
    clinic: Clinic,
    start: datetime,
    end: datetime,
    staff_ids: list[int],
    period: Callable[[Any], Any] | None,
) -> Totals:
    """Attempts started in [start, end) per (staff id, period, or None without one); stretches by window functions.

    The window also sees the attempts just before ``start`` (``_LOOKBACK``), so a stretch that began
    earlier is joined, not restarted.
    """
    a = ContactAttempt
    earliest = start - _LOOKBACK
    prev_end = sa.func.max(a.ended_at).over(partition_by=a.staff_id, order_by=(a.started_at, a.id), rows=(None, -1))
    w = (
        (
            sa.select(
                a.staff_id,
                a.started_at,
                a.ended_at,
                a.duration_seconds,
                a.answered,
                a.outcome,
                prev_end.label("prev_end"),
            ).where(
                a.clinic_id == clinic.id,
                a.staff_id.in_(staff_ids),
                a.ended_at >= earliest,
                a.ended_at < end + timedelta(seconds=MAX_DURATION_SECONDS),
                a.started_at >= earliest,
                a.started_at < end,
            )
        )
        .subquery()
        .c
    )
    gap = seconds_between(session, w.started_at, w.prev_end)
    joins = sa.and_(w.prev_end.is_not(None), gap <= STRETCH_GAP.total_seconds())
    adds = sa.case(
        (joins, sa.case((w.ended_at > w.prev_end, seconds_between(session, w.ended_at, w.prev_end)), else_=0)),
        else_=seconds_between(session, w.ended_at, w.started_at),
    )
    wrap = sa.case((joins, sa.case((gap > 0, gap), else_=0)))  # NULL for an attempt that starts a stretch
    inner = (
        sa.select(
            w.staff_id,
            (period(w.started_at) if period else sa.null()).label("period"),
            w.answered,
            w.outcome,
            w.duration_seconds,
            adds.label("adds"),
            wrap.label("wrap"),
        ).where(w.started_at >= start)
    ).subquery()
    c = inner.c
    return _grouped(
        session,
        inner,
        {
            "attempts": sa.func.count(),
            "contacts": count_if(c.answered.is_(True)),
            "refusals": count_if(c.outcome == Outcome.DECLINED),
            "bookings": count_if(c.outcome == Outcome.BOOKED),
            "handle_seconds": _sum(c.duration_seconds),
            "working_seconds": _sum(c.adds),
            "wrap_up_seconds": _sum(c.wrap),
            "wrap_up_gaps": sa.func.count(c.wrap),
        },
    )


def _closures(
    session: Session, clinic: Clinic, start: datetime, end: datetime, staff_ids: list[int], period: Callable[[Any], Any]
) -> Totals:
    t, booked, other = RecallTask, aliased(ContactAttempt), aliased(ContactAttempt)
    answered_before = sa.exists().where(
        other.task_id == booked.task_id,
        other.answered.is_(True),
        sa.or_(
            other.started_at < booked.started_at, sa.and_(other.started_at == booked.started_at, other.id < booked.id)
        ),
    )
    first_contact = sa.exists().where(
        booked.task_id == t.id, booked.outcome == Outcome.BOOKED, booked.staff_id == t.closed_by_id, ~answered_before
    )
    inner = (
        sa.select(
            t.closed_by_id.label("staff_id"),
            period(t.closed_at).label("period"),
            t.status,
            t.close_reason,
            sa.case((sa.and_(t.status == TaskStatus.WON, first_contact), 1), else_=0).label("fcr"),
        ).where(
            t.clinic_id == clinic.id,
            t.status.in_((TaskStatus.WON, TaskStatus.CLOSED)),
            t.close_reason.in_(QUEUE_CLOSE_REASONS),
            t.reason.not_in(SERVICE_REASONS),
            t.closed_by_id.in_(staff_ids),
            t.closed_at >= start,
            t.closed_at < end,
        )
    ).subquery()
    c = inner.c
    return _grouped(
        session,
        inner,
        {
            "tasks_won": count_if(c.status == TaskStatus.WON),
            "tasks_closed": sa.func.count(),
            "closed_declined": count_if(c.close_reason == CloseReason.DECLINED),
            "closed_unreachable": count_if(c.close_reason == CloseReason.UNREACHABLE),
            "closed_opted_out": count_if(c.close_reason == CloseReason.OPTED_OUT),
            "first_contact_wins": _sum(c.fcr),
        },
    )


def _credited(
    session: Session, clinic: Clinic, start: datetime, end: datetime, staff_ids: list[int], period: Callable[[Any], Any]
) -> Totals:
    b = Booking
    inner = (
        sa.select(b.credited_staff_id.label("staff_id"), period(b.created_at).label("period"), b.status).where(
            b.clinic_id == clinic.id,
            b.credited_role == Role.OPERATOR,
            b.credited_staff_id.in_(staff_ids),
            b.created_at >= start,
            b.created_at < end,
        )
    ).subquery()
    c = inner.c
    return _grouped(
        session,
        inner,
        {
            "credited_bookings": sa.func.count(),
            "bookings_attended": count_if(c.status == BookingStatus.ATTENDED),
            "bookings_no_show": count_if(c.status == BookingStatus.NO_SHOW),
            "bookings_cancelled": count_if(c.status == BookingStatus.CANCELLED),
            "bookings_pending": count_if(c.status.in_(ACTIVE)),
        },
    )


def queue_staff(session: Session, clinic_id: int) -> dict[int, str]:
    """Everyone who may work the queue (operators and managers, active or not), id -> name."""
    return dict(
        session.execute(
            sa.select(Staff.id, Staff.name).where(Staff.clinic_id == clinic_id, Staff.role.in_(QUEUE_ROLES))
        ).all()
    )


@dataclass
class KpiRow:
    period_start: date
    period_end: date  # the period's last day, inclusive
    staff_id: int | None  # None: the team total
    staff_name: str | None = None
    attempts: int = 0
    contacts: int = 0
    refusals: int = 0
    bookings: int = 0  # attempts that booked
    handle_seconds: int = 0
    working_seconds: int = 0
    wrap_up_seconds: int = 0
    wrap_up_gaps: int = 0
    tasks_won: int = 0
    tasks_closed: int = 0  # won, or closed without a win, through the queue
    closed_declined: int = 0
    closed_unreachable: int = 0
    closed_opted_out: int = 0
    first_contact_wins: int = 0
    credited_bookings: int = 0  # credited to the operator, made by any path
    bookings_attended: int = 0
    bookings_no_show: int = 0
    bookings_cancelled: int = 0
    bookings_pending: int = 0
    # The ratios, filled by finish(); None where the denominator is 0.
    bookings_with_outcome: int = 0
    attempts_per_hour: float | None = None
    contact_rate: float | None = None
    avg_handle_seconds: float | None = None
    avg_wrap_up_seconds: float | None = None
    conversion: float | None = None
    first_contact_resolution: float | None = None
    realized_rate: float | None = None

    def finish(self) -> KpiRow:
        self.bookings_with_outcome = self.bookings_attended + self.bookings_no_show + self.bookings_cancelled
        self.attempts_per_hour = ratio(self.attempts * 3600, self.working_seconds)
        self.contact_rate = ratio(self.contacts, self.attempts)
        self.avg_handle_seconds = ratio(self.handle_seconds, self.attempts)
        self.avg_wrap_up_seconds = ratio(self.wrap_up_seconds, self.wrap_up_gaps)
        self.conversion = ratio(self.tasks_won, self.tasks_closed)
        self.first_contact_resolution = ratio(self.first_contact_wins, self.tasks_won)
        self.realized_rate = ratio(self.bookings_attended, self.bookings_with_outcome)
        return self


COUNTS = tuple(f.name for f in fields(KpiRow) if f.type in ("int", int) and f.name != "bookings_with_outcome")


def kpi_range_check(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationError("must be after from", field="to")
    if end - start > MAX_KPI_RANGE:
        raise ValidationError("a range spans at most 366 days", field="to")


def _periods(clinic: Clinic, start: datetime, end: datetime, group: Group) -> list[date]:
    first, last = local_day(start, clinic.timezone), local_day(end - timedelta(microseconds=1), clinic.timezone)
    if group == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=7 if group == "week" else 1)
    return [first + step * i for i in range((last - first) // step + 1)]


def team_kpis(
    session: Session,
    clinic: Clinic,
    *,
    start: datetime,
    end: datetime,
    group: Group = "day",
    staff_id: int | None = None,
) -> list[KpiRow]:
    """Per period of [start, end): the team total first, then each operator with any activity, by id.

    ``staff_id`` keeps only that operator's rows; the team rows stay, for comparison.
    """
    if group not in ("day", "week"):
        raise ValidationError("must be day or week", field="group")
    kpi_range_check(start, end)
    staff = queue_staff(session, clinic.id)
    ids = sorted(staff)
    period = period_of(session, clinic.timezone, group, start - _LOOKBACK, end)
    span = timedelta(days=6 if group == "week" else 0)
    rows: dict[tuple[int, date], KpiRow] = {}
    for part in (
        attempt_totals(session, clinic, start, end, ids, period),
        _closures(session, clinic, start, end, ids, period),
        _credited(session, clinic, start, end, ids, period),
    ):
        for (sid, raw), values in part.items():
            day = raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])
            row = rows.setdefault(
                (sid, day), KpiRow(period_start=day, period_end=day + span, staff_id=sid, staff_name=staff[sid])
            )
            for name, value in values.items():
                setattr(row, name, round(value))
    result: list[KpiRow] = []
    for day in _periods(clinic, start, end, group):
        team = KpiRow(period_start=day, period_end=day + span, staff_id=None)
        members = [rows[k].finish() for k in sorted(k for k in rows if k[1] == day)]
        for name in COUNTS:
            setattr(team, name, sum(getattr(m, name) for m in members))
        result.append(team.finish())
        result.extend(m for m in members if staff_id is None or m.staff_id == staff_id)
    return result
