"""The recall funnel: what became of the win-back tasks opened in a period, stage by stage.

The definitions, and why:

- The cohort: the win-back tasks opened (``created_at``) in the period, a local day or ISO week in the clinic's
  zone. Service calls (a reminder call, a patient's request) win nobody back and stay out, as in conversion.
  A cohort is read by when the work arrived, so a late stage (an attended visit) still counts for the period
  the task opened in: a recent period's later stages keep filling up.
- Opened → first contact: the patient was reached, i.e. the task has an answered attempt.
- First contact → booked: the task was won from the queue (closed as booked). A task won because the patient
  booked another way (``booked_elsewhere``) is shown beside the chain, not in it: nobody's call did it.
- Booked → attended: the booking made from the task was attended. Its share is of the bookings whose outcome
  is known (attended, no-show, cancelled), as the realized rate; ``booked_pending`` are still ahead.
- The operator of a task is the one who made its last attempt: on a won task, the one who booked it; on any
  other, the one who worked it last. A task nobody has tried yet has no operator (``staff_id`` null).
- Days between stages, as a median and 90th percentile over the tasks that reached the later stage:
  opened → the first answered attempt's start; that → the task's close as booked; that → the visit's start.
- Each period has a total row (``total`` true, every key null) and a row per (reason, service, operator)
  with any task. The filters narrow the cohort itself, so the totals are of what is shown.

The database does the work, whatever the number of tasks: on PostgreSQL one pass over the cohort gives
both levels and every figure (GROUPING SETS, ``percentile_cont``); on SQLite one pass groups the cohort and
one window pass gives the medians (``recall.queue.quantiles``). It reads the cohort's tasks (and their bookings)
alone: what their attempts did is kept on each task (``recall.queue.task_facts``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Service
from recall.clinic.clinics import Clinic
from recall.common.collector import collector_paused
from recall.queue.measures import Group, count_if, period_of, queue_staff, seconds_between
from recall.queue.quantiles import (
    PERCENTILES,
    long_form,
    ordered_set,
    quantiles,
    tune_for_reports,
)
from recall.queue.stats import as_day, kpi_range_check, periods
from recall.queue.tasks import SERVICE_REASONS, CloseReason, RecallTask, TaskReason
from recall.visits.booking import ACTIVE, Booking, BookingStatus

KEYS = ("period", "reason", "service_id", "staff_id")
DAY = 86_400.0
NONE = -1  # a missing service or operator in the cohort: no id is negative
# The cohort carries a reason as its position here, in the values' text order: the database sorts and groups
# small integers rather than text (a tenth of the funnel's time over 200,000 tasks), and the order holds.
REASONS = sorted(r.value for r in TaskReason if r not in SERVICE_REASONS)


@dataclass(slots=True)
class FunnelRow:
    period_start: date
    period_end: date  # inclusive
    total: bool  # the period's total over every reason, service and operator
    reason: str | None = None
    service_id: int | None = None
    service_name: str | None = None
    staff_id: int | None = None
    staff_name: str | None = None
    opened: int = 0
    contacted: int = 0
    booked: int = 0
    attended: int = 0
    booked_no_show: int = 0
    booked_cancelled: int = 0
    booked_pending: int = 0
    booked_elsewhere: int = 0
    contact_share: float | None = None
    booking_share: float | None = None
    attendance_share: float | None = None
    days_to_contact_median: float | None = None
    days_to_contact_p90: float | None = None
    days_to_booking_median: float | None = None
    days_to_booking_p90: float | None = None
    days_to_visit_median: float | None = None
    days_to_visit_p90: float | None = None

    def finish(self) -> FunnelRow:
        # ``ratio`` inline: a month by day is about 10,000 rows, and the calls were a tenth of building them.
        opened, contacted, booked, attended = self.opened, self.contacted, self.booked, self.attended
        known = attended + self.booked_no_show + self.booked_cancelled
        self.contact_share = contacted / opened if opened else None
        self.booking_share = booked / contacted if contacted else None
        self.attendance_share = attended / known if known else None
        return self


COUNTS = ("opened", "contacted", "booked", "attended", "booked_no_show", "booked_cancelled", "booked_pending")
STAGES = {"days_to_contact": "contact_days", "days_to_booking": "booking_days", "days_to_visit": "visit_days"}


def _stage_columns(k: Any) -> list[Any]:
    return [k.created_at, k.closed_at, k.close_reason, k.contact_at, k.booking_status, k.visit_at]


def _cohort(
    session: Session,
    clinic: Clinic,
    start: datetime,
    end: datetime,
    group: Group,
    service_id: int | None,
    reason: TaskReason | None,
    staff_id: int | None,
) -> sa.CTE:
    """One row per task of the cohort: its keys and the instants of its stages.

    The attempts' part (the first answered start, the latest attempt's operator) is kept on the task as each
    attempt is logged (``recall.queue.task_facts``): the cohort is the range's tasks alone, by their index.
    """
    t, b = RecallTask, Booking
    scope = [t.clinic_id == clinic.id, t.created_at >= start, t.created_at < end, t.reason.not_in(SERVICE_REASONS)]
    if service_id is not None:
        scope.append(t.service_id == service_id)
    if reason is not None:
        scope.append(t.reason == reason)
    if staff_id is not None:
        scope.append(t.last_attempt_by_id == staff_id)
    period = period_of(session, clinic.timezone, group, start, end)
    stmt = (
        sa.select(
            period(t.created_at).label("period"),
            sa.case({TaskReason(v): i for i, v in enumerate(REASONS)}, value=t.reason).label("reason"),
            # A missing service or operator as NONE: it sorts first, as the report lists it, in the order the
            # grouping leaves the rows in; the rows give it back as None.
            sa.func.coalesce(t.service_id, NONE).label("service_id"),
            sa.func.coalesce(t.last_attempt_by_id, NONE).label("staff_id"),
            t.created_at,
            t.closed_at,
            t.close_reason,
            t.first_contact_at.label("contact_at"),
            b.status.label("booking_status"),
            b.start_at.label("visit_at"),
        )
        .select_from(t)
        # Only a task closed as booked reads its booking, one made from it (so not before the cohort opened):
        # the bound keeps the join to the range's bookings, by their index, instead of the clinic's history.
        .outerjoin(
            b,
            sa.and_(
                b.id == t.booking_id,
                t.close_reason == CloseReason.BOOKED,
                b.clinic_id == clinic.id,
                b.created_at >= start,
            ),
        )
        .where(*scope)
    )
    return stmt.cte("cohort")


# A row of the report as a pass gives it, in ``FunnelRow``'s order and in ``_order``'s (a period's total after
# its groups): total, period, reason, service_id, staff_id, the counts (``COUNTS`` and booked_elsewhere), then
# the stages' percentiles (``STAGES`` by ``PERCENTILES``).
Figures = Sequence[Any]


def _measures(session: Session, c: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The counts and the stages' days, over columns named as the cohort's."""
    booked = c.close_reason == CloseReason.BOOKED
    attended = sa.and_(booked, c.booking_status == BookingStatus.ATTENDED)
    counts = {
        "opened": sa.func.count(),
        "contacted": sa.func.count(c.contact_at),
        "booked": count_if(booked),
        "attended": count_if(attended),
        "booked_no_show": count_if(sa.and_(booked, c.booking_status == BookingStatus.NO_SHOW)),
        "booked_cancelled": count_if(sa.and_(booked, c.booking_status == BookingStatus.CANCELLED)),
        "booked_pending": count_if(sa.and_(booked, c.booking_status.in_(ACTIVE))),
        "booked_elsewhere": count_if(c.close_reason == CloseReason.BOOKED_ELSEWHERE),
    }
    stages = {
        "contact_days": seconds_between(session, c.contact_at, c.created_at) / DAY,
        "booking_days": sa.case((booked, seconds_between(session, c.closed_at, c.contact_at) / DAY)),
        "visit_days": sa.case((attended, seconds_between(session, c.visit_at, c.closed_at) / DAY)),
    }
    return counts, stages


def _order(k: Any) -> list[Any]:
    """Per period its groups by (reason, service, operator), a missing key (``NONE``) first, then its total.

    The order PostgreSQL's grouping leaves the rows in (the total has no reason, and a NULL sorts last), so it
    needs no sort for it; ``_total_first`` moves each period's total before its groups.
    """
    return [k.period, k.reason.nulls_last(), k.service_id, k.staff_id]


def _total_first(passes: Iterator[Figures]) -> Iterator[Figures]:
    """Per period its total, then its groups in the order they came."""
    groups: list[Figures] = []
    for r in passes:
        if r[0]:
            yield r
            yield from groups
            groups = []
        else:
            groups.append(r)


def _grouping_sets(session: Session, cohort: sa.CTE) -> Iterator[Figures]:
    """PostgreSQL: both levels and every figure in one pass over the cohort (GROUPING SETS, percentile_cont)."""
    k = cohort.c
    counts, stages = _measures(session, k)
    keys = [k[n] for n in KEYS]
    total = sa.func.grouping(k.reason) == 1
    stmt = (
        sa.select(
            total.label("total"),
            *keys,
            *(e.label(n) for n, e in counts.items()),
            *(c for metric, value in stages.items() for c in ordered_set(value, PERCENTILES, prefix=f"{metric}_q")),
        )
        .group_by(sa.func.grouping_sets(sa.tuple_(k.period), sa.tuple_(*keys)))
        .order_by(*_order(k))
    )
    # A Core execution: the rows are plain tuples, with no ORM loading around them, in FunnelRow's order.
    return iter(session.connection().execute(stmt).all())


def _two_passes(session: Session, cohort: sa.CTE) -> Iterator[Figures]:
    """SQLite: one pass groups the cohort at both levels, one window pass gives the medians."""
    k = cohort.c
    # Both levels in one pass: each task once under its own keys, once under its period's total.
    levels = sa.union_all(
        sa.select(sa.literal(0).label("total"), k.period, k.reason, k.service_id, k.staff_id, *_stage_columns(k)),
        sa.select(sa.literal(1), k.period, sa.null(), sa.null(), sa.null(), *_stage_columns(k)),
    ).cte("levels")
    c = levels.c
    counts, stages = _measures(session, c)
    keys = ("total", *KEYS)
    found = quantiles(session, long_form({n: c[n] for n in keys}, stages, levels), keys, PERCENTILES)
    grouped = (
        sa.select(*(c[n] for n in keys), *(e.label(n) for n, e in counts.items()))
        .group_by(*(c[n] for n in keys))
        .order_by(*_order(c))
    )
    for r in session.execute(grouped):
        key = tuple(r[: len(keys)])
        per_metric = [found.get((*key, metric), {}) for metric in stages]
        yield (
            bool(r.total), as_day(r.period), *key[2:], *r[len(keys) :],
            *(q.get(p) for q in per_metric for p in PERCENTILES),
        )  # fmt: skip


def recall_funnel(
    session: Session,
    clinic: Clinic,
    *,
    start: datetime,
    end: datetime,
    group: Group = "day",
    staff_id: int | None = None,
    service_id: int | None = None,
    reason: TaskReason | None = None,
) -> list[FunnelRow]:
    """The funnel of the tasks opened in [start, end), per period: the total, then each (reason, service, operator)."""
    kpi_range_check(start, end)
    tune_for_reports(session)
    cohort = _cohort(session, clinic, start, end, group, service_id, reason, staff_id)
    passes = _grouping_sets if session.get_bind().dialect.name == "postgresql" else _two_passes
    staff = queue_staff(session, clinic.id)
    services = dict(session.execute(sa.select(Service.id, Service.name).where(Service.clinic_id == clinic.id)).all())
    span = timedelta(days=6 if group == "week" else 0)
    first = 5 + len(COUNTS) + 1  # where the percentiles start
    rows: list[FunnelRow] = []
    # Per period: its total, then its groups; a period with no task has a total, with nothing in it.
    empty = deque(periods(clinic, start, end, group))
    reason_of = dict(enumerate(REASONS))
    # The passes' rows and the report's, about 10,000 for a month by day: see recall.common.collector.
    with collector_paused():
        for r in _total_first(passes(session, cohort)):
            total, day, code, service, operator = r[:5]
            if service == NONE:
                service = None
            if operator == NONE:
                operator = None
            if total:
                while empty and empty[0] < day:
                    rows.append(_empty(empty.popleft(), span))
                if empty and empty[0] == day:
                    empty.popleft()
            fields = [
                day, day + span, total, reason_of.get(code), service, services.get(service),
                operator, staff.get(operator),
                *r[5:first], None, None, None, *r[first:],  # the shares come from finish()
            ]  # fmt: skip
            rows.append(FunnelRow(*fields).finish())
    rows.extend(_empty(day, span) for day in empty)
    return rows


def _empty(day: date, span: timedelta) -> FunnelRow:
    return FunnelRow(day, day + span, True).finish()
