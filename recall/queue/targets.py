"""Targets that rise: a manager's target per KPI, for the team or one operator, starting modest and rising each
month by a percentage up to a cap (how each stands this month: ``recall.queue.target_progress``).

The definitions, and why:

* The KPIs are those of ``recall.queue.stats`` (their definitions are there): counts (bookings, contacts, tasks
  won) and rates (conversion, first-contact resolution, realized rate, contact rate as shares in [0, 1];
  attempts per hour). Each is "higher is better".
* A target starts in ``start_month`` at ``start_value`` and rises by ``rise_percent`` a month, compounded, until
  it reaches ``cap`` (none: no cap): the target in force for a month ``m`` months after the start is
  ``min(start_value * (1 + rise_percent / 100) ** m, cap)``; before the start month none is in force. A month is
  a calendar month in the clinic's zone.
* A target's scope is the team (``staff_id`` None: the team's total, as the team row of the KPIs) or one
  operator. One target per KPI and scope, kept by the database too (two partial unique indexes, the team's
  scope being a null ``staff_id``): two managers saving the same scope at once get one target and a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.staff import Staff, get_staff
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import Conflict, NotFound, ValidationError


@dataclass(frozen=True)
class Kpi:
    rate: bool  # a rate is compared as it stands; a count pro rata to the month's elapsed share
    share: bool  # a share in [0, 1]
    description: str


KPIS: dict[str, Kpi] = {
    "bookings": Kpi(False, False, "attempts that booked"),
    "contacts": Kpi(False, False, "answered attempts"),
    "tasks_won": Kpi(False, False, "win-back tasks closed with a booking"),
    "conversion": Kpi(True, True, "tasks won / tasks closed through the queue"),
    "first_contact_resolution": Kpi(True, True, "tasks won on the first answered attempt / tasks won"),
    "realized_rate": Kpi(True, True, "credited bookings attended / those with an outcome"),
    "contact_rate": Kpi(True, True, "contacts / attempts"),
    "attempts_per_hour": Kpi(True, False, "attempts / working hours"),
}
MAX_VALUE = 1_000_000.0
MAX_RISE_PERCENT = 100.0
FIELDS = ("kpi", "staff_id", "start_value", "start_month", "rise_percent", "cap")


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    kpi: Mapped[str] = mapped_column(sa.String(40))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))  # None: the team
    start_value: Mapped[float] = mapped_column(sa.Float)
    start_month: Mapped[date] = mapped_column(sa.Date)  # the first day of the month
    rise_percent: Mapped[float] = mapped_column(sa.Float)
    cap: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("start_value >= 0", name="target_start_non_negative"),
        sa.CheckConstraint("cap IS NULL OR cap >= start_value", name="target_cap_not_below_start"),
        sa.Index("ix_targets_clinic_staff", "clinic_id", "staff_id"),
        # One per KPI and scope. Nulls are distinct in a unique index, so the team's scope has its own.
        sa.Index(
            "uq_targets_operator_kpi",
            "clinic_id",
            "kpi",
            "staff_id",
            unique=True,
            sqlite_where=sa.text("staff_id IS NOT NULL"),
            postgresql_where=sa.text("staff_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_targets_team_kpi",
            "clinic_id",
            "kpi",
            unique=True,
            sqlite_where=sa.text("staff_id IS NULL"),
            postgresql_where=sa.text("staff_id IS NULL"),
        ),
    )

    @property
    def scope(self) -> str:
        return "team" if self.staff_id is None else "operator"

    def value_for(self, month: date) -> float | None:
        """The target in force in ``month`` (any day of it); None before the start month."""
        return value_in_force(self.start_value, self.start_month, self.rise_percent, self.cap, month)


def months_between(start: date, month: date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def value_in_force(
    start_value: float, start_month: date, rise_percent: float, cap: float | None, month: date
) -> float | None:
    """``min(start_value * (1 + rise_percent / 100) ** months, cap)`` for the months since ``start_month``."""
    months = months_between(start_month, month)
    if months < 0:
        return None
    value = start_value * (1 + rise_percent / 100) ** months
    return value if cap is None else min(value, cap)


def _number(data: dict[str, Any], name: str, high: float) -> float:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise ValidationError(f"must be a number between 0 and {high:g}", field=name)
    return float(value)


def _check(session: Session, actor: Actor, data: dict[str, Any], target_id: int | None) -> None:
    if data["kpi"] not in KPIS:
        raise ValidationError(f"must be one of {', '.join(KPIS)}", field="kpi")
    high = 1.0 if KPIS[data["kpi"]].share else MAX_VALUE
    start = _number(data, "start_value", high)
    _number(data, "rise_percent", MAX_RISE_PERCENT)
    if data["cap"] is not None and _number(data, "cap", high) < start:
        raise ValidationError("must not be below start_value", field="cap")
    if not isinstance(data["start_month"], date) or data["start_month"].day != 1:
        raise ValidationError("must be the first day of a month", field="start_month")
    if data["staff_id"] is not None:
        try:
            member = get_staff(session, actor.clinic_id, data["staff_id"])
        except NotFound:
            raise ValidationError(f"no staff member {data['staff_id']} in this clinic", field="staff_id") from None
        if member.role is not Role.OPERATOR:
            raise ValidationError("targets are for operators (or the team: null)", field="staff_id")
    clash = session.scalar(
        sa.select(Target.id).where(
            Target.clinic_id == actor.clinic_id,
            Target.kpi == data["kpi"],
            Target.staff_id.is_(None) if data["staff_id"] is None else Target.staff_id == data["staff_id"],
            Target.id != (target_id or 0),
        )
    )
    if clash is not None:
        raise Conflict(f"target {clash} already sets {data['kpi']} for this scope", field="kpi")


def create_target(session: Session, clock: Clock, actor: Actor, data: dict[str, Any]) -> Target:
    actor.require(Role.MANAGER)
    data = {"staff_id": None, "cap": None, "rise_percent": 0.0, **data}
    _check(session, actor, data, None)
    now = clock.now()
    target = Target(clinic_id=actor.clinic_id, created_at=now, updated_at=now, **{k: data[k] for k in FIELDS})
    session.add(target)
    _commit(session, data["kpi"])
    return target


def _commit(session: Session, kpi: str) -> None:
    """Commit, a race the check could not see (another manager saving the same scope meanwhile) being a 409."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"another target already sets {kpi} for this scope; reload and retry", field="kpi") from None


def get_target(session: Session, clinic_id: int, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None or target.clinic_id != clinic_id:
        raise NotFound("target", target_id)
    return target


def update_target(session: Session, clock: Clock, actor: Actor, target_id: int, changes: dict[str, Any]) -> Target:
    actor.require(Role.MANAGER)
    target = get_target(session, actor.clinic_id, target_id)
    data = {**{k: getattr(target, k) for k in FIELDS}, **{k: v for k, v in changes.items() if k in FIELDS}}
    _check(session, actor, data, target.id)
    for name in FIELDS:
        setattr(target, name, data[name])
    target.updated_at = clock.now()
    _commit(session, data["kpi"])
    return target


def delete_target(session: Session, actor: Actor, target_id: int) -> None:
    actor.require(Role.MANAGER)
    session.delete(get_target(session, actor.clinic_id, target_id))
    session.commit()


def list_targets(session: Session, clinic_id: int, *, staff_id: int | None = None, team: bool = True) -> list[Target]:
    """The clinic's targets by KPI, the team's first; with ``staff_id``, that operator's (and the team's if
    ``team``)."""
    stmt = sa.select(Target).where(Target.clinic_id == clinic_id)
    if staff_id is not None:
        mine = Target.staff_id == staff_id
        stmt = stmt.where(sa.or_(mine, Target.staff_id.is_(None)) if team else mine)
    rows = session.scalars(stmt).all()
    return sorted(rows, key=lambda t: (t.staff_id is not None, t.staff_id or 0, list(KPIS).index(t.kpi), t.id))


def staff_names(session: Session, clinic_id: int) -> dict[int, str]:
    return dict(session.execute(sa.select(Staff.id, Staff.name).where(Staff.clinic_id == clinic_id)).all())
