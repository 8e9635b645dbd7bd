"""The credit ledger: pending when booked, earned when attended, void on cancel or no-show.

Entries are appended and never rewritten; balances are sums. Each booking has
at most one entry of each kind (a unique constraint, not a hope), and an
outcome entry mirrors its pending entry's amount, so a plan change never
alters what was already promised.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from types import SimpleNamespace
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.actors import Role
from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.common.timeutil import local_day
from recall.credit.payplan import amount_for
from recall.events import announce


class CreditKind(str, enum.Enum):
    PENDING = "pending"
    EARNED = "earned"
    VOID = "void"


class CreditEntry(Base):
    __tablename__ = "credit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, "credit_role"))
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id"))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    is_recall: Mapped[bool] = mapped_column()
    kind: Mapped[CreditKind] = mapped_column(enum_column_type(CreditKind, "credit_kind"))
    amount_cents: Mapped[int] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The pay-period day in the clinic's zone, fixed when the entry is written.
    local_day: Mapped[date] = mapped_column(sa.Date)

    __table_args__ = (
        sa.UniqueConstraint("booking_id", "kind", name="uq_credit_entries_booking_kind"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        # Covering index for a staff member's earnings over a range of days.
        sa.Index("ix_credit_entries_staff_day", "staff_id", "local_day", "kind", "amount_cents"),
        sa.Index("ix_credit_entries_clinic_day", "clinic_id", "local_day"),
    )


# The table's, not the entity's: an ORM insert would go through the unit of work.
_INSERT_ENTRY = sa.insert(cast(sa.Table, CreditEntry.__table__)).returning(CreditEntry.__table__.c.id)


def record_pending(
    session: Session,
    *,
    booking_id: int,
    clinic_id: int,
    clinic_zone: str,
    staff_id: int,
    role: Role,
    service_id: int | None,
    is_recall: bool,
    now: datetime,
) -> int:
    """Append a booking's pending entry (the caller commits); returns its id. Written by one Core statement, not
    the unit of work: every booking that earns credit writes one, and nothing reads it back in that request."""
    entry = {
        "clinic_id": clinic_id,
        "staff_id": staff_id,
        "role": role,
        "booking_id": booking_id,
        "service_id": service_id,
        "is_recall": is_recall,
        "kind": CreditKind.PENDING,
        "amount_cents": amount_for(session, clinic_id, role, service_id, is_recall),
        "occurred_at": now,
        "local_day": local_day(now, clinic_zone),
    }
    entry_id = int(session.execute(_INSERT_ENTRY, entry).scalar_one())
    announce.credit(session, SimpleNamespace(id=entry_id, **entry), now)
    return entry_id


def record_outcome(
    session: Session, *, booking_id: int, kind: CreditKind, now: datetime, day: date
) -> CreditEntry | None:
    """Settle a booking's pending credit as earned or void. No pending entry: nothing to settle."""
    pending = session.scalar(
        sa.select(CreditEntry).where(CreditEntry.booking_id == booking_id, CreditEntry.kind == CreditKind.PENDING)
    )
    if pending is None:
        return None
    entry = CreditEntry(
        clinic_id=pending.clinic_id,
        staff_id=pending.staff_id,
        role=pending.role,
        booking_id=booking_id,
        service_id=pending.service_id,
        is_recall=pending.is_recall,
        kind=kind,
        amount_cents=pending.amount_cents,
        occurred_at=now,
        local_day=day,
    )
    session.add(entry)
    session.flush()
    announce.credit(session, entry, now)
    return entry


def entries_for_booking(session: Session, booking_id: int) -> list[CreditEntry]:
    return list(
        session.scalars(sa.select(CreditEntry).where(CreditEntry.booking_id == booking_id).order_by(CreditEntry.id))
    )
