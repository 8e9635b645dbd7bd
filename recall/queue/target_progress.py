"""How each target stands in a month: the KPI so far against the target in force, and whether it is on track.

The definitions, and why:

* The month is a calendar month in the clinic's zone; the KPIs over it are ``recall.queue.stats``'s, summed over
  its local days so far (the counts; the rates are then recomputed from the summed counts, never averaged).
* The elapsed share is the real time elapsed of the month (its start to now, or the whole month once it is
  over) over the month's real length, so a DST day counts as the 23 or 25 hours it had.
* On track: a count KPI is on track when its value so far reaches the target pro rata, ``target *
  elapsed_share`` (half-way through the month, half the target); a rate is on track when it already reaches the
  target (a rate does not accumulate: 60 % conversion half-way is 60 %). A rate with nothing to measure yet
  (no closed task, no attempt) is "no_data", neither on track nor behind. ``projected`` is a count's value at
  this pace by the month's end.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.timeutil import at_local, local_day, month_range
from recall.queue.stats import COUNTS, KpiRow, team_kpis
from recall.queue.targets import KPIS, Target, list_targets, staff_names

ON_TRACK, BEHIND, NO_DATA, NOT_STARTED = "on_track", "behind", "no_data", "not_started"


@dataclass(frozen=True)
class Progress:
    target: Target
    staff_name: str | None
    month: date  # its first day
    target_value: float | None  # in force this month; None: the target starts later
    actual: float | None
    elapsed_share: float
    expected_so_far: float | None  # a count: target * elapsed_share; a rate: the target
    projected: float | None  # a count at this pace by the month's end
    status: str  # ON_TRACK, BEHIND, NO_DATA, NOT_STARTED

    @property
    def on_track(self) -> bool | None:
        return {ON_TRACK: True, BEHIND: False}.get(self.status)


def month_bounds(clinic: Clinic, month: date) -> tuple[datetime, datetime]:
    first, last = month_range(month)
    return at_local(first, 0, clinic.timezone), at_local(last + timedelta(days=1), 0, clinic.timezone)


def this_month(clinic: Clinic, now: datetime) -> date:
    return local_day(now, clinic.timezone).replace(day=1)


def _month_kpis(session: Session, clinic: Clinic, start: datetime, end: datetime) -> dict[int | None, KpiRow]:
    """Each operator's KPIs over [start, end), and the team's (None), from the daily rows summed."""
    totals: dict[int | None, KpiRow] = {}
    if end <= start:
        return {}
    for row in team_kpis(session, clinic, start=start, end=end, group="day"):
        total = totals.setdefault(
            row.staff_id, KpiRow(period_start=start.date(), period_end=end.date(), staff_id=row.staff_id)
        )
        for name in COUNTS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return {k: v.finish() for k, v in totals.items()}


_KPI_FIELDS = {f.name for f in fields(KpiRow)}


def _one(target: Target, name: str | None, month: date, share: float, row: KpiRow | None) -> Progress:
    value = target.value_for(month)
    kpi = KPIS[target.kpi]
    assert target.kpi in _KPI_FIELDS
    actual = getattr(row, target.kpi) if row is not None else (None if kpi.rate else 0)
    if value is None or share <= 0:
        return Progress(target, name, month, value, actual, share, None, None, NOT_STARTED)
    if kpi.rate:
        expected, projected = value, None
        status = NO_DATA if actual is None else ON_TRACK if actual >= value else BEHIND
    else:
        count = actual or 0
        expected, projected = value * share, count / share
        status = ON_TRACK if count >= expected else BEHIND
    return Progress(target, name, month, value, actual, share, expected, projected, status)


def progress(
    session: Session, clinic: Clinic, now: datetime, month: date | None = None, *, staff_id: int | None = None
) -> list[Progress]:
    """Every target of the clinic in ``month`` (default: this month); with ``staff_id``, only that operator's
    targets and the team's."""
    month = (month or this_month(clinic, now)).replace(day=1)
    targets = list_targets(session, clinic.id, staff_id=staff_id)
    start, end = month_bounds(clinic, month)
    until = min(max(now, start), end)
    share = (until - start) / (end - start)
    rows = _month_kpis(session, clinic, start, until) if targets else {}
    names = staff_names(session, clinic.id)
    return [_one(t, names.get(t.staff_id) if t.staff_id else None, month, share, rows.get(t.staff_id)) for t in targets]
