"""The front desk's day: a clinic's bookings of one local day with whom and what they are for, and the visits
under way (checked in, not yet checked out), each read in a few queries rather than a few per row.

Reading only; checking in and out are the use cases of ``recall.visits.visits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.timeutil import at_local
from recall.visits.booking import ACTIVE, Booking, list_bookings
from recall.visits.visit import Visit, VisitStatus


@dataclass(frozen=True)
class ScheduleRow:
    """One booking of the day, and the visit that fulfils it once the patient checked in."""

    booking: Booking
    patient: Patient
    provider: Provider | None
    service: Service | None
    visit: Visit | None

    @property
    def can_check_in(self) -> bool:
        """Still to come in: booked or confirmed, and no visit recorded for it yet."""
        return self.visit is None and self.booking.status in ACTIVE


@dataclass(frozen=True)
class VisitRow:
    visit: Visit
    patient: Patient
    provider: Provider | None
    service: Service | None


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day in ``zone_name`` as UTC instants (23 or 25 hours across a DST change)."""
    return at_local(day, 0, zone_name), at_local(day + timedelta(days=1), 0, zone_name)


M = TypeVar("M", Provider, Service, Patient)


def _by_id(session: Session, model: type[M], ids: set[int | None]) -> dict[int | None, M]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(sa.select(model).where(model.id.in_(wanted)))}


def day_schedule(session: Session, clinic: Clinic, day: date) -> list[ScheduleRow]:
    """The clinic's bookings starting on ``day`` (its local day), in order, whatever their status."""
    start, end = day_bounds(day, clinic.timezone)
    booked = list(session.scalars(list_bookings(clinic.id, start_from=start, start_to=end)))
    if not booked:
        return []
    visits = {
        v.booking_id: v for v in session.scalars(sa.select(Visit).where(Visit.booking_id.in_({b.id for b in booked})))
    }
    patients = _by_id(session, Patient, {b.patient_id for b in booked})
    providers = _by_id(session, Provider, {b.provider_id for b in booked})
    services = _by_id(session, Service, {b.service_id for b in booked})
    return [
        ScheduleRow(
            booking=b,
            patient=patients[b.patient_id],
            provider=providers.get(b.provider_id),
            service=services.get(b.service_id),
            visit=visits.get(b.id),
        )
        for b in booked
    ]


def visits_under_way(session: Session, clinic_id: int) -> list[VisitRow]:
    """Every visit checked in and not yet checked out, earliest arrival first: the checkouts still to do."""
    return _rows(
        session,
        sa.select(Visit)
        .where(Visit.clinic_id == clinic_id, Visit.status == VisitStatus.CHECKED_IN)
        .order_by(Visit.checked_in_at, Visit.id),
    )


def visits_checked_out(session: Session, clinic: Clinic, day: date) -> list[VisitRow]:
    """The visits of ``day`` (checked in that local day) already checked out, with the follow-up recorded."""
    start, end = day_bounds(day, clinic.timezone)
    return _rows(
        session,
        sa.select(Visit)
        .where(
            Visit.clinic_id == clinic.id,
            Visit.status == VisitStatus.CHECKED_OUT,
            Visit.checked_in_at >= start,
            Visit.checked_in_at < end,
        )
        .order_by(Visit.checked_in_at, Visit.id),
    )


def visit_row(session: Session, visit: Visit) -> VisitRow:
    return _rows(session, sa.select(Visit).where(Visit.id == visit.id))[0]


def _rows(session: Session, stmt: sa.Select[Visit]) -> list[VisitRow]:
    visits = list(session.scalars(stmt))
    patients = _by_id(session, Patient, {v.patient_id for v in visits})
    providers = _by_id(session, Provider, {v.provider_id for v in visits})
    services = _by_id(session, Service, {v.service_id for v in visits})
    return [
        VisitRow(
            visit=v,
            patient=patients[v.patient_id],
            provider=providers.get(v.provider_id),
            service=services.get(v.service_id),
        )
        for v in visits
    ]
