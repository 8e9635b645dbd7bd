"""The clinic's reminder policy as stored: one row per saved version, and the reads of them.

Every save is a new row, version n+1; rows are never rewritten, so "which policy planned this reminder"
always has an answer. The current policy is the highest version, and a clinic that never saved one runs on
``DEFAULT_POLICY`` (version 0). Apart from the use cases (``recall.reminders.policy``), which re-plan
bookings through ``recall.reminders.reminders``, so that the planner can read the policy without a cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.db import Base, UTCDateTime
from recall.common.errors import NotFound
from recall.reminders.planning import DEFAULT_POLICY, PolicyDoc


class ReminderPolicy(Base):
    """One saved version of a clinic's policy; never updated, never deleted."""

    __tablename__ = "reminder_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    version: Mapped[int] = mapped_column()
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # PolicyDoc.to_json() of the validated document
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "version", name="uq_reminder_policies_clinic_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    @property
    def doc(self) -> PolicyDoc:
        return PolicyDoc.from_json(self.body)


def latest_version(session: Session, clinic_id: int) -> ReminderPolicy | None:
    return session.scalars(_LATEST, {"clinic": clinic_id}).first()


def list_versions(clinic_id: int) -> sa.Select[ReminderPolicy]:
    """Every saved version of the clinic's policy, newest first (for paging)."""
    return _VERSIONS.params(clinic=clinic_id)


# Built once: every booking made, moved or confirmed reads the policy in force.
_VERSIONS = (
    sa.select(ReminderPolicy)
    .where(ReminderPolicy.clinic_id == sa.bindparam("clinic"))
    .order_by(ReminderPolicy.version.desc())
)
_LATEST = _VERSIONS.limit(1)


def current_policy(session: Session, clinic_id: int) -> tuple[int, PolicyDoc]:
    """The clinic's policy now: (version, document); (0, DEFAULT_POLICY) if it never saved one."""
    row = latest_version(session, clinic_id)
    return (0, DEFAULT_POLICY) if row is None else (row.version, row.doc)


def get_version(session: Session, clinic_id: int, version: int) -> ReminderPolicy:
    row = session.scalars(
        sa.select(ReminderPolicy).where(ReminderPolicy.clinic_id == clinic_id, ReminderPolicy.version == version)
    ).first()
    if row is None:
        raise NotFound("reminder policy version", version)
    return row
