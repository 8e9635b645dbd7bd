"""What an operator sees with a claim: everything needed for the call, without a second request.

The patient (name, phone, language, their local time and zone), each claimed task with the
visit or booking it came from, the suggested provider and service, and what the patient wrote
for a request; the patient's past attempts with their notes, and their upcoming bookings.

A fixed handful of reads per claim, whatever the number of tasks, attempts or bookings: the
patient, the attempts (with who made them), the bookings (upcoming and the tasks' own), the
origin visits, and the names of every provider and service mentioned, each in one statement.
Read after the claim has committed; it writes nothing.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import get_clinic
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import Staff
from recall.queue.attempts import AttemptChannel, ContactAttempt, Outcome
from recall.queue.claims import Claim
from recall.queue.tasks import RecallTask
from recall.visits.booking import ACTIVE, Booking, BookingStatus, is_upcoming
from recall.visits.visit import Visit

# The patient's most recent attempts shown with a claim, and their next bookings.
ATTEMPTS_SHOWN = 20
BOOKINGS_SHOWN = 10


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class PatientCard:
    id: int
    full_name: str
    phone: str
    language: Language
    timezone: str  # the patient's zone, or the clinic's when the patient's is unknown
    timezone_is_clinics: bool
    local_time: datetime  # now, in that zone
    opted_out: bool
    phone_invalid: bool


@dataclass(frozen=True)
class BookingCard:
    id: int
    start_at: datetime
    end_at: datetime
    status: BookingStatus
    provider: Named | None
    service: Named | None


@dataclass(frozen=True)
class VisitCard:
    id: int
    checked_in_at: datetime
    checked_out_at: datetime | None
    provider: Named | None
    service: Named | None
    follow_up: str | None
    follow_up_date: date | None
    follow_up_note: str | None


@dataclass(frozen=True)
class TaskCard:
    task: RecallTask
    origin_visit: VisitCard | None
    origin_booking: BookingCard | None
    suggested_provider: Named | None
    suggested_service: Named | None
    request_text: str | None  # what the patient wrote back, for a patient's request


@dataclass(frozen=True)
class AttemptCard:
    id: int
    task_id: int
    staff_id: int
    staff_name: str
    channel: AttemptChannel
    outcome: Outcome
    ended_at: datetime
    duration_seconds: int
    note: str | None
    decline_reason: str | None
    callback_at: datetime | None
    booking_id: int | None


@dataclass(frozen=True)
class ClaimSheet:
    patient: PatientCard
    tasks: tuple[TaskCard, ...]
    attempts: tuple[AttemptCard, ...]  # the patient's, newest first
    upcoming_bookings: tuple[BookingCard, ...]  # active and ahead, soonest first


def _names(session: Session, model: type[Provider] | type[Service], ids: set[int]) -> dict[int, Named]:
    if not ids:
        return {}
    return {i: Named(i, n) for i, n in session.execute(sa.select(model.id, model.name).where(model.id.in_(ids)))}


def sheet_for(session: Session, claim: Claim, clinic_id: int, now: datetime) -> ClaimSheet | None:
    """The claimed patient's sheet; None when the claim handed out nothing."""
    if not claim.tasks:
        return None
    tasks = claim.tasks
    patient = session.get(Patient, tasks[0].patient_id)
    assert patient is not None and patient.clinic_id == clinic_id
    clinic_zone = get_clinic(session, clinic_id).timezone
    zone = patient.timezone or clinic_zone

    attempts = session.execute(
        sa.select(ContactAttempt, Staff.name)
        .join(Staff, Staff.id == ContactAttempt.staff_id)
        .where(ContactAttempt.patient_id == patient.id)
        .order_by(ContactAttempt.ended_at.desc(), ContactAttempt.id.desc())
        .limit(ATTEMPTS_SHOWN)
    ).all()
    origin_bookings = {t.origin_booking_id for t in tasks if t.origin_booking_id is not None}
    upcoming = is_upcoming(now)
    bookings = list(
        session.scalars(
            sa.select(Booking)
            .where(
                Booking.patient_id == patient.id,
                sa.or_(upcoming, Booking.id.in_(origin_bookings)) if origin_bookings else upcoming,
            )
            .order_by(Booking.start_at, Booking.id)
        )
    )
    visit_ids = {t.origin_visit_id for t in tasks if t.origin_visit_id is not None}
    visits = list(session.scalars(sa.select(Visit).where(Visit.id.in_(visit_ids)))) if visit_ids else []

    named: list[RecallTask | Booking | Visit] = [*tasks, *bookings, *visits]
    providers = _names(session, Provider, {x.provider_id for x in named if x.provider_id is not None})
    services = _names(session, Service, {x.service_id for x in named if x.service_id is not None})

    def booking_card(b: Booking) -> BookingCard:
        return BookingCard(
            b.id, b.start_at, b.end_at, b.status, providers.get(b.provider_id or 0), services.get(b.service_id or 0)
        )

    by_booking = {b.id: booking_card(b) for b in bookings}
    by_visit = {
        v.id: VisitCard(
            v.id,
            v.checked_in_at,
            v.checked_out_at,
            providers.get(v.provider_id or 0),
            services.get(v.service_id or 0),
            v.follow_up.value if v.follow_up else None,
            v.follow_up_date,
            v.follow_up_note,
        )
        for v in visits
    }
    return ClaimSheet(
        patient=PatientCard(
            patient.id,
            patient.full_name,
            patient.phone_e164,
            patient.language,
            zone,
            patient.timezone is None,
            now.astimezone(zoneinfo.ZoneInfo(zone)),
            patient.opted_out,
            patient.phone_invalid,
        ),
        tasks=tuple(
            TaskCard(
                t,
                by_visit.get(t.origin_visit_id or 0),
                by_booking.get(t.origin_booking_id or 0),
                providers.get(t.provider_id or 0),
                services.get(t.service_id or 0),
                t.request_text,
            )
            for t in tasks
        ),
        attempts=tuple(
            AttemptCard(
                a.id,
                a.task_id,
                a.staff_id,
                name,
                a.channel,
                a.outcome,
                a.ended_at,
                a.duration_seconds,
                a.note,
                a.decline_reason,
                a.callback_at,
                a.booking_id,
            )
            for a, name in attempts
        ),
        upcoming_bookings=tuple(by_booking[b.id] for b in bookings if b.status in ACTIVE and b.start_at > now)[
            :BOOKINGS_SHOWN
        ],
    )
