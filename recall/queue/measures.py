"""The SQL measures behind the team KPIs and staffing: periods in the clinic's zone, attempts and their working
stretches, task closures, credited bookings, each summed per (staff member, period) by the database.

The definitions (a stretch, conversion, first-contact resolution, the realized rate) are in ``recall.queue.stats``,
which turns these totals into KPI rows; ``recall.queue.staffing`` reads them too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from recall.clinic.clinics import Clinic
from recall.clinic.staff import Staff
from recall.common.actors import Role
from recall.common.clock import UTC
from recall.common.timeutil import zone
from recall.queue.attempts import MAX_DURATION_SECONDS, ContactAttempt, Outcome
from recall.queue.tasks import SERVICE_REASONS, CloseReason, RecallTask, TaskStatus
from recall.visits.booking import ACTIVE, Booking, BookingStatus

Group = Literal["day", "week"]
STRETCH_GAP = timedelta(minutes=30)
# An attempt that ends within STRETCH_GAP before the range started at most this long before it.
LOOKBACK = STRETCH_GAP + timedelta(seconds=MAX_DURATION_SECONDS)
# Closures an operator makes from the queue; the conversion denominator.
QUEUE_CLOSE_REASONS = (CloseReason.BOOKED, CloseReason.DECLINED, CloseReason.UNREACHABLE, CloseReason.OPTED_OUT)
QUEUE_ROLES = (Role.OPERATOR, Role.MANAGER)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def count_if(condition: Any) -> Any:
    """How many rows of the group meet ``condition`` (0, not NULL, for none).

    A FILTER clause (both databases have it): the database counts the rows it keeps, with no CASE and SUM
    evaluated per row.
    """
    return sa.func.count().filter(condition)


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
        # date_part gives a double; EXTRACT gives a numeric (PostgreSQL 14 on), slower to compute and divide.
        return sa.func.date_part("epoch", later - earlier)
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

    The window also sees the attempts just before ``start`` (``LOOKBACK``), so a stretch that began
    earlier is joined, not restarted.
    """
    a = ContactAttempt
    earliest = start - LOOKBACK
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


def closures(
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


def credited(
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
