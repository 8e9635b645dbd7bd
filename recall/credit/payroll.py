"""The monthly payroll a manager hands to accounting: each staff member's earned credit by day and by kind.

Only earned entries count (the patient came); pending and void entries are not pay. The kinds follow the line
between the roles: ``desk`` (a booking made face to face), ``recall`` (a patient won back from the recall queue,
at the clinic's multiplier, already in the entry's amount) and ``remote`` (any other booking an operator made by
phone, chat or SMS). The amounts are the ledger's own: the totals are sums of the same entries, so they equal the
ledger to the cent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.staff import Staff
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.common.timeutil import month_range
from recall.credit.ledger import CreditEntry, CreditKind


class PayKind(str, enum.Enum):
    DESK = "desk"
    RECALL = "recall"
    REMOTE = "remote"


@dataclass(frozen=True)
class PayLine:
    """One staff member's earned credit on one day, of one kind."""

    staff_id: int
    day: date
    kind: PayKind
    bookings: int
    cents: int


@dataclass
class StaffPay:
    staff_id: int
    name: str
    role: Role
    lines: list[PayLine] = field(default_factory=list)

    @property
    def cents(self) -> int:
        return sum(line.cents for line in self.lines)

    @property
    def bookings(self) -> int:
        return sum(line.bookings for line in self.lines)

    def cents_of(self, kind: PayKind) -> int:
        return sum(line.cents for line in self.lines if line.kind is kind)


@dataclass(frozen=True)
class Payroll:
    start: date
    end: date
    staff: list[StaffPay]

    @property
    def cents(self) -> int:
        return sum(member.cents for member in self.staff)

    @property
    def bookings(self) -> int:
        return sum(member.bookings for member in self.staff)


def month_of(text: str, field_name: str = "month") -> tuple[date, date]:
    """'2026-11' as its first and last day."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValidationError("must be a month as YYYY-MM, for example 2026-11", field=field_name) from None
    return month_range(first)


_KIND = sa.case(
    (CreditEntry.role == Role.FRONTDESK, PayKind.DESK.value),
    (CreditEntry.is_recall, PayKind.RECALL.value),
    else_=PayKind.REMOTE.value,
)


def payroll(session: Session, clinic_id: int, start: date, end: date) -> Payroll:
    """Every earning staff member of the clinic (those with nothing earned too), with their earned lines of the
    pay-period days ``start`` to ``end`` (the entries' days in the clinic's zone)."""
    earned = sa.and_(
        CreditEntry.clinic_id == clinic_id,
        CreditEntry.kind == CreditKind.EARNED,
        CreditEntry.local_day >= start,
        CreditEntry.local_day <= end,
    )
    # Pay follows the entries, not today's roles: someone who earned and has since become a manager is paid too.
    people = session.execute(
        sa.select(Staff.id, Staff.name, Staff.role)
        .where(
            Staff.clinic_id == clinic_id,
            sa.or_(
                Staff.role.in_((Role.FRONTDESK, Role.OPERATOR)),
                Staff.id.in_(sa.select(CreditEntry.staff_id).where(earned)),
            ),
        )
        .order_by(Staff.name, Staff.id)
    )
    staff = {p.id: StaffPay(staff_id=p.id, name=p.name, role=p.role) for p in people}
    kind = _KIND.label("pay_kind")
    rows = session.execute(
        sa.select(
            CreditEntry.staff_id, CreditEntry.local_day, kind, sa.func.count(), sa.func.sum(CreditEntry.amount_cents)
        )
        .where(earned)
        .group_by(CreditEntry.staff_id, CreditEntry.local_day, kind)
        .order_by(CreditEntry.staff_id, CreditEntry.local_day, kind)
    )
    for staff_id, day, pay_kind, count, cents in rows:
        staff[staff_id].lines.append(PayLine(staff_id, day, PayKind(pay_kind), int(count), int(cents)))
    return Payroll(start=start, end=end, staff=list(staff.values()))
