"""How the team worked the recall queue: read-only KPIs for managers (how the queue stands now: ``health``;
the SQL measures these rows are made of: ``measures``).

The database counts (GROUP BY, window functions), so the cost follows the rows of the asked range,
never a Python loop over every task. The definitions, and why:

- KPI periods are local days or ISO weeks (Monday) in the clinic's zone. An attempt belongs to the
  period of its start, a task closure to that of ``closed_at``, a booking to that of ``created_at``.
- Working time: an operator's attempts form stretches; a gap of more than 30 minutes between the
  latest end so far and the next start ends one (exactly 30 minutes still joins). A stretch's span,
  first start to last end, is working time. Each attempt carries the part of the span it adds (the
  idle gap before it, when it joins, plus its own call), so a stretch splits cleanly at midnight and
  a range that starts mid-stretch counts the same as a longer one. Wrap-up is the mean of those gaps.
- Pace: attempts per working hour, and beside it contacts per working hour (a contact is an answered
  attempt: the patient was reached and spoke for themselves), so dialling unanswered numbers faster does not
  read as more work done. Handle time is an attempt's own duration as logged (the call, or the chat or SMS
  exchange), its mean over all attempts.
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

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day
from recall.queue.measures import (
    LOOKBACK,
    Group,
    attempt_totals,
    closures,
    credited,
    period_of,
    queue_staff,
    ratio,
)

# 366 local days; one hour of slack for a range that crosses a DST change.
MAX_KPI_RANGE = timedelta(days=366, hours=1)


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
    contacts_per_hour: float | None = None
    contact_rate: float | None = None
    avg_handle_seconds: float | None = None
    avg_wrap_up_seconds: float | None = None
    conversion: float | None = None
    first_contact_resolution: float | None = None
    realized_rate: float | None = None

    def finish(self) -> KpiRow:
        self.bookings_with_outcome = self.bookings_attended + self.bookings_no_show + self.bookings_cancelled
        self.attempts_per_hour = ratio(self.attempts * 3600, self.working_seconds)
        self.contacts_per_hour = ratio(self.contacts * 3600, self.working_seconds)
        self.contact_rate = ratio(self.contacts, self.attempts)
        self.avg_handle_seconds = ratio(self.handle_seconds, self.attempts)
        self.avg_wrap_up_seconds = ratio(self.wrap_up_seconds, self.wrap_up_gaps)
        self.conversion = ratio(self.tasks_won, self.tasks_closed)
        self.first_contact_resolution = ratio(self.first_contact_wins, self.tasks_won)
        self.realized_rate = ratio(self.bookings_attended, self.bookings_with_outcome)
        return self


COUNTS = tuple(f.name for f in fields(KpiRow) if f.type in ("int", int) and f.name != "bookings_with_outcome")


def as_day(raw: Any) -> date:
    """A period key as the database returns it (a date on PostgreSQL, text on SQLite) as a date."""
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])


def kpi_range_check(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationError("must be after from", field="to")
    if end - start > MAX_KPI_RANGE:
        raise ValidationError("a range spans at most 366 days", field="to")


def periods(clinic: Clinic, start: datetime, end: datetime, group: Group) -> list[date]:
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
    period = period_of(session, clinic.timezone, group, start - LOOKBACK, end)
    span = timedelta(days=6 if group == "week" else 0)
    rows: dict[tuple[int, date], KpiRow] = {}
    for part in (
        attempt_totals(session, clinic, start, end, ids, period),
        closures(session, clinic, start, end, ids, period),
        credited(session, clinic, start, end, ids, period),
    ):
        for (sid, raw), values in part.items():
            day = as_day(raw)
            row = rows.setdefault(
                (sid, day), KpiRow(period_start=day, period_end=day + span, staff_id=sid, staff_name=staff[sid])
            )
            for name, value in values.items():
                setattr(row, name, round(value))
    result: list[KpiRow] = []
    for day in periods(clinic, start, end, group):
        team = KpiRow(period_start=day, period_end=day + span, staff_id=None)
        members = [rows[k].finish() for k in sorted(k for k in rows if k[1] == day)]
        for name in COUNTS:
            setattr(team, name, sum(getattr(m, name) for m in members))
        result.append(team.finish())
        result.extend(m for m in members if staff_id is None or m.staff_id == staff_id)
    return result
