"""Encounters become visits: the check-in at the encounter's start and, once it has ended, the checkout, through
``recall.visits.visits`` at the time each happened (a clock fixed at ``started_at``, then at ``ended_at``).

The visit is tied to the appointment's booking when ``appointment_ref`` names one we hold: checking in for it
marks it attended, as the front desk's check-in does (a booking the appointment's own state already made
attended is linked to the visit as it is). An appointment we do not hold (one that was over before we knew
of it) leaves the visit without a booking.

The follow-up at checkout, from what we know (the EHR does not say what was agreed at the desk):

- the visit's service names no follow-up interval (or there is no service): ``not_needed``;
- the patient holds an active booking that starts after the visit ended: ``booked``, that booking being the
  visit's follow-up (so cancelling it puts the patient back in the recall queue, as for a desk booking);
- otherwise ``undecided``: the patient left without the follow-up their visit called for, and a recall task
  opens, due at the service's recommended date.

An encounter imported again changes nothing; one that was under way and has now ended is checked out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import get_clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.clock import Clock, FixedClock
from recall.common.errors import ValidationError
from recall.imports.records import EncounterRecord, Result
from recall.imports.refs import Applied, by_ref, check_ref, optional, required
from recall.visits.booking import ACTIVE, Booking, BookingStatus
from recall.visits.visit import FollowUp, Visit, VisitStatus
from recall.visits.visits import CheckoutRequest, check_in, checkout, default_follow_up_date

RENAMES = {"patient_id": "patient_ref", "provider_id": "provider_ref", "service_id": "service_ref"}
CLOCK_GRACE = timedelta(minutes=5)  # the source's clock may run this far ahead of ours


def apply_encounter(session: Session, clock: Clock, actor: Actor, record: EncounterRecord) -> Applied:
    ref = check_ref(record.ref)
    now = clock.now()
    _check_times(record, now)
    visit = by_ref(session, Visit, actor.clinic_id, ref)
    if visit is not None:
        if visit.status is VisitStatus.CHECKED_OUT or record.ended_at is None:
            return Applied(Result.UNCHANGED, visit.id)
        _checkout(session, actor, visit, record.ended_at)
        return Applied(Result.UPDATED, visit.id)
    clinic_id = actor.clinic_id
    patient = required(session, Patient, clinic_id, record.patient_ref, "patient_ref", "patient")
    provider = optional(session, Provider, clinic_id, record.provider_ref, "provider_ref", "provider")
    service = optional(session, Service, clinic_id, record.service_ref, "service_ref", "service")
    booking = _booking(session, clinic_id, record.appointment_ref)
    if booking is not None and booking.patient_id != patient.id:
        raise ValidationError("the appointment is another patient's", field="appointment_ref")
    attends = booking is not None and booking.status is not BookingStatus.ATTENDED
    visit = check_in(
        session,
        FixedClock(record.started_at),
        actor,
        patient_id=patient.id,
        provider_id=provider.id if provider is not None else None,
        service_id=service.id if service is not None else None,
        booking_id=booking.id if booking is not None and attends else None,
        external_ref=ref,
    )
    if booking is not None and not attends:
        visit.booking_id = booking.id  # attended already (the appointment said so); the visit is its realization
        if booking.service_id is not None and visit.service_id is None:
            visit.service_id = booking.service_id
    if record.ended_at is not None:
        _checkout(session, actor, visit, record.ended_at)
    return Applied(Result.CREATED, visit.id)


def _check_times(record: EncounterRecord, now: datetime) -> None:
    for field, value in (("started_at", record.started_at), ("ended_at", record.ended_at)):
        if value is not None and value.tzinfo is None:
            raise ValidationError("must carry a UTC offset or Z", field=field)
        if value is not None and value > now + CLOCK_GRACE:
            raise ValidationError("must not be in the future", field=field)
    if record.ended_at is not None and record.ended_at < record.started_at:
        raise ValidationError("must not be before started_at", field="ended_at")


def _booking(session: Session, clinic_id: int, appointment_ref: str | None) -> Booking | None:
    if appointment_ref is None or not appointment_ref.strip():
        return None
    booking = by_ref(session, Booking, clinic_id, check_ref(appointment_ref, "appointment_ref"))
    if booking is None:
        return None
    taken = session.scalar(sa.select(Visit.id).where(Visit.booking_id == booking.id).limit(1))
    return None if taken is not None else booking


def _checkout(session: Session, actor: Actor, visit: Visit, ended_at: datetime) -> None:
    clinic = get_clinic(session, actor.clinic_id)
    service = session.get(Service, visit.service_id) if visit.service_id is not None else None
    recommended = default_follow_up_date(visit, service, clinic)
    later = _later_booking(session, visit, ended_at) if recommended is not None else None
    if recommended is None:
        follow_up = FollowUp.NOT_NEEDED
    elif later is not None:
        follow_up = FollowUp.NOT_NEEDED  # then recorded as booked below: checkout books only new bookings
    else:
        follow_up = FollowUp.UNDECIDED
    checkout(session, FixedClock(ended_at), actor, visit.id, CheckoutRequest(follow_up=follow_up))
    if later is not None:
        visit.follow_up, visit.follow_up_date, visit.follow_up_booking_id = FollowUp.BOOKED, recommended, later.id
        if later.follow_up_of_visit_id is None:
            later.follow_up_of_visit_id = visit.id


def _later_booking(session: Session, visit: Visit, after: datetime) -> Booking | None:
    """The patient's next active booking that starts after the visit (not the one the visit fulfils)."""
    stmt = (
        sa.select(Booking)
        .where(Booking.patient_id == visit.patient_id, Booking.status.in_(ACTIVE), Booking.start_at > after)
        .order_by(Booking.start_at, Booking.id)
        .limit(1)
    )
    if visit.booking_id is not None:
        stmt = stmt.where(Booking.id != visit.booking_id)
    return session.scalar(stmt)
