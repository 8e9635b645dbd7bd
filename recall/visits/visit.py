"""A visit and the words for it: checked in or out, the follow-up recorded at checkout, and its queries.

Apart from the check-in and checkout use cases (``recall.visits.visits``), so that the booking use cases,
which reopen a lost follow-up, can read a visit without importing the use cases that make bookings.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.db import Base, UTCDateTime, by_id_in_clinic, enum_column_type
from recall.common.errors import NotFound


class VisitStatus(str, enum.Enum):
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


class FollowUp(str, enum.Enum):
    NOT_NEEDED = "not_needed"
    BOOKED = "booked"
    DECLINED = "declined"
    UNDECIDED = "undecided"


NEEDS_RECALL = (FollowUp.DECLINED, FollowUp.UNDECIDED)
CHECKED_IN = VisitStatus.CHECKED_IN.value
OPEN_VISIT_INDEX = "uq_visits_open_patient"


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    # The appointment this visit fulfils, if the patient came for one.
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", use_alter=True), unique=True)
    status: Mapped[VisitStatus] = mapped_column(enum_column_type(VisitStatus, "visit_status"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))  # None: the system (an EHR)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    follow_up: Mapped[FollowUp | None] = mapped_column(enum_column_type(FollowUp, "visit_follow_up"))
    follow_up_date: Mapped[date | None] = mapped_column(sa.Date)
    follow_up_booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", use_alter=True))
    # Operational remarks only ("call after 5 pm"); never a diagnosis.
    follow_up_note: Mapped[str | None] = mapped_column(sa.String(500))
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the source's identifier (recall.imports)

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_visits_clinic_external_ref"),
        sa.Index("ix_visits_clinic_checked_in", "clinic_id", "checked_in_at"),
        sa.Index("ix_visits_patient", "patient_id"),
        # One visit per patient checked in and not yet checked out: a second check-in is impossible.
        sa.Index(
            OPEN_VISIT_INDEX,
            "patient_id",
            unique=True,
            sqlite_where=sa.text(f"status = '{CHECKED_IN}'"),
            postgresql_where=sa.text(f"status = '{CHECKED_IN}'"),
        ),
    )


_VISIT, _VISIT_FOR_UPDATE = by_id_in_clinic(Visit)


def get_visit(session: Session, clinic_id: int, visit_id: int, *, for_update: bool = False) -> Visit:
    visit = session.scalar(_VISIT_FOR_UPDATE if for_update else _VISIT, {"id": visit_id, "clinic": clinic_id})
    if visit is None:
        raise NotFound("visit", visit_id)
    return visit


def list_visits(
    clinic_id: int,
    *,
    status: VisitStatus | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    patient_id: int | None = None,
) -> sa.Select[Visit]:
    stmt = sa.select(Visit).where(Visit.clinic_id == clinic_id).order_by(Visit.checked_in_at, Visit.id)
    if status is not None:
        stmt = stmt.where(Visit.status == status)
    if from_ is not None:
        stmt = stmt.where(Visit.checked_in_at >= from_)
    if to is not None:
        stmt = stmt.where(Visit.checked_in_at < to)
    if patient_id is not None:
        stmt = stmt.where(Visit.patient_id == patient_id)
    return stmt
