"""What the ledger adds up to: a staff member's earnings, the team's, and a what-if under another plan.

All figures are sums over credit entries; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.staff import Staff
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day, month_range
from recall.credit.ledger import CreditEntry, CreditKind
from recall.credit.payplan import PlanTerms

MAX_RANGE_DAYS = 731

_SIGNED_AMOUNT = sa.case(
    (CreditEntry.kind == CreditKind.PENDING, CreditEntry.amount_cents), else_=-CreditEntry.amount_cents
)
_SIGNED_COUNT = sa.case((CreditEntry.kind == CreditKind.PENDING, 1), else_=-1)


@dataclass
class Totals:
    booked_cents: int = 0
    booked_count: int = 0
    earned_cents: int = 0
    earned_count: int = 0
    voided_cents: int = 0
    voided_count: int = 0

    def add(self, kind: CreditKind, cents: int, count: int) -> None:
        name = {CreditKind.PENDING: "booked", CreditKind.EARNED: "earned", CreditKind.VOID: "voided"}[kind]
        setattr(self, f"{name}_cents", getattr(self, f"{name}_cents") + cents)
        setattr(self, f"{name}_count", getattr(self, f"{name}_count") + count)


@dataclass
class DayTotals(Totals):
    day: date = date.min


@dataclass
class Earnings(Totals):
    """Flows within [start, end] plus what is still pending at the end of the range."""

    staff_id: int = 0
    start: date = date.min
    end: date = date.min
    pending_cents: int = 0
    pending_count: int = 0
    days: list[DayTotals] = field(default_factory=list)


def period(clinic: Clinic, now: datetime, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The range asked for, or by default the current pay period: the calendar month in the clinic's zone."""
    if start is None and end is None:
        return month_range(local_day(now, clinic.timezone))
    if start is None or end is None:
        raise ValidationError("give both from and to, or neither", field="from" if start is None else "to")
    if end < start:
        raise ValidationError("must not be before from", field="to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError(f"a range spans at most {MAX_RANGE_DAYS} days", field="to")
    return start, end


def staff_earnings(session: Session, staff_id: int, start: date, end: date) -> Earnings:
    result = Earnings(staff_id=staff_id, start=start, end=end)
    days: dict[date, DayTotals] = {}
    rows = session.execute(
        sa.select(CreditEntry.local_day, CreditEntry.kind, sa.func.sum(CreditEntry.amount_cents), sa.func.count())
        .where(CreditEntry.staff_id == staff_id, CreditEntry.local_day >= start, CreditEntry.local_day <= end)
        .group_by(CreditEntry.local_day, CreditEntry.kind)
    )
    for day, kind, cents, count in rows:
        days.setdefault(day, DayTotals(day=day)).add(kind, int(cents), count)
        result.add(kind, int(cents), count)
    result.days = [days[d] for d in sorted(days)]
    pending = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(_SIGNED_AMOUNT), 0), sa.func.coalesce(sa.func.sum(_SIGNED_COUNT), 0)
        ).where(CreditEntry.staff_id == staff_id, CreditEntry.local_day <= end)
    ).one()
    result.pending_cents, result.pending_count = int(pending[0]), int(pending[1])
    return result


@dataclass
class StaffSummary(Totals):
    staff_id: int = 0
    name: str = ""
    role: Role = Role.OPERATOR
    pending_cents: int = 0
    pending_count: int = 0


def team_earnings(session: Session, clinic_id: int, start: date, end: date) -> list[StaffSummary]:
    """Every earning staff member of the clinic, including those with nothing yet."""
    people = session.execute(
        sa.select(Staff.id, Staff.name, Staff.role)
        .where(Staff.clinic_id == clinic_id, Staff.role.in_((Role.FRONTDESK, Role.OPERATOR)))
        .order_by(Staff.id)
    )
    summaries = {p.id: StaffSummary(staff_id=p.id, name=p.name, role=p.role) for p in people}
    flows = session.execute(
        sa.select(CreditEntry.staff_id, CreditEntry.kind, sa.func.sum(CreditEntry.amount_cents), sa.func.count())
        .where(CreditEntry.clinic_id == clinic_id, CreditEntry.local_day >= start, CreditEntry.local_day <= end)
        .group_by(CreditEntry.staff_id, CreditEntry.kind)
    )
    for staff_id, kind, cents, count in flows:
        if staff_id in summaries:
            summaries[staff_id].add(kind, int(cents), count)
    pending = session.execute(
        sa.select(CreditEntry.staff_id, sa.func.sum(_SIGNED_AMOUNT), sa.func.sum(_SIGNED_COUNT))
        .where(CreditEntry.clinic_id == clinic_id, CreditEntry.local_day <= end)
        .group_by(CreditEntry.staff_id)
    )
    for staff_id, cents, count in pending:
        if staff_id in summaries:
            summaries[staff_id].pending_cents, summaries[staff_id].pending_count = int(cents), int(count)
    return list(summaries.values())


@dataclass
class WhatIfRow:
    staff_id: int
    name: str
    role: Role
    realized_count: int = 0
    actual_cents: int = 0
    proposed_cents: int = 0

    @property
    def difference_cents(self) -> int:
        return self.proposed_cents - self.actual_cents


@dataclass
class WhatIf:
    start: date
    end: date
    rows: list[WhatIfRow]

    @property
    def actual_cents(self) -> int:
        return sum(r.actual_cents for r in self.rows)

    @property
    def proposed_cents(self) -> int:
        return sum(r.proposed_cents for r in self.rows)


def what_if(session: Session, clinic_id: int, start: date, end: date, proposed: PlanTerms) -> WhatIf:
    """Re-price every realized booking in the range under ``proposed`` and compare with what was earned."""
    groups = session.execute(
        sa.select(
            CreditEntry.staff_id,
            CreditEntry.role,
            CreditEntry.service_id,
            CreditEntry.is_recall,
            sa.func.count(),
            sa.func.sum(CreditEntry.amount_cents),
        )
        .where(
            CreditEntry.clinic_id == clinic_id,
            CreditEntry.kind == CreditKind.EARNED,
            CreditEntry.local_day >= start,
            CreditEntry.local_day <= end,
        )
        .group_by(CreditEntry.staff_id, CreditEntry.role, CreditEntry.service_id, CreditEntry.is_recall)
    ).all()
    names = {r.id: r.name for r in session.execute(sa.select(Staff.id, Staff.name).where(Staff.clinic_id == clinic_id))}
    rows: dict[int, WhatIfRow] = {}
    per_staff: dict[int, list[tuple]] = defaultdict(list)
    for g in groups:
        per_staff[g[0]].append(g)
    for staff_id, items in per_staff.items():
        row = rows[staff_id] = WhatIfRow(staff_id=staff_id, name=names.get(staff_id, ""), role=items[0][1])
        for _, role, service_id, is_recall, count, cents in items:
            row.realized_count += count
            row.actual_cents += int(cents)
            row.proposed_cents += proposed.amount(role, service_id, is_recall) * count
    return WhatIf(start=start, end=end, rows=sorted(rows.values(), key=lambda r: r.staff_id))
