"""Appointments become bookings through the booking use cases only, so reminders are planned, stopped and
planned again, and credit is pending, earned or void, exactly as when the staff do it.

How a source's state maps onto a booking we hold (or not yet):

=========== ============================== ==============================================================
state       no booking with this ref yet   our booking with this ref
=========== ============================== ==============================================================
proposed    nothing (not a booking yet)    refused on ``status``: a booking does not go back to proposed
pending,    booked (``book``)              moved when its time or provider changed (``move``); else
booked                                     unchanged (a confirmed booking stays confirmed)
arrived,    nothing: over before we knew   attended (``mark_attended``), as our check-in does
fulfilled   of it; its encounter is the
            visit
noshow      nothing (no reminder or        a no-show (``mark_no_show``)
            credit of ours to settle)
cancelled   nothing                        cancelled (``cancel_booking``): reminders stop, credit is void
=========== ============================== ==============================================================

A move our rules refuse (a cancelled booking booked again, an attended one cancelled, a no-show before the
start) is refused on ``status`` with the rule's own words; the booking keeps its state.

Credit: a booking earns nobody unless the record names who made it (``booked_by_ref``: a staff member's
identifier or e-mail) and how (``channel``); then the channel decides the role as for a manager recording it
on that person's behalf (a front-desk person named on a phone booking is refused). A record without a channel
is recorded as ``online``, the channel that earns nobody.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.errors import Conflict, ValidationError
from recall.imports.records import AppointmentRecord, AppointmentState, Result
from recall.imports.refs import Applied, by_ref, check_ref, checked_text, optional, required, staff_member
from recall.visits.booking import ACTIVE, TRANSITIONS, Booking, BookingStatus, Channel
from recall.visits.booking_outcomes import cancel_booking, mark_attended, mark_no_show
from recall.visits.bookings import BookingRequest, create_booking, move_booking

CANCEL_REASON_LENGTH = 200
# The fields of the booking use cases, as a record names them.
RENAMES = {
    "patient_id": "patient_ref",
    "provider_id": "provider_ref",
    "service_id": "service_ref",
    "on_behalf_of_staff_id": "booked_by_ref",
}
UNBOOKED = {
    AppointmentState.PROPOSED: "proposed: not a booking until it is booked",
    AppointmentState.CANCELLED: "cancelled before recall knew of it: nothing to book",
    AppointmentState.NOSHOW: "missed before recall knew of it: no reminder or credit to settle",
    AppointmentState.ARRIVED: "under way before recall knew of it: its encounter records the visit",
    AppointmentState.FULFILLED: "over before recall knew of it: its encounter records the visit",
}
ENDS = {
    AppointmentState.CANCELLED: BookingStatus.CANCELLED,
    AppointmentState.NOSHOW: BookingStatus.NO_SHOW,
    AppointmentState.ARRIVED: BookingStatus.ATTENDED,
    AppointmentState.FULFILLED: BookingStatus.ATTENDED,
}


def apply_appointment(session: Session, clock: Clock, actor: Actor, record: AppointmentRecord) -> Applied:
    ref = check_ref(record.ref)
    state = _state(record.state)
    clinic_id = actor.clinic_id
    patient = required(session, Patient, clinic_id, record.patient_ref, "patient_ref", "patient")
    provider = optional(session, Provider, clinic_id, record.provider_ref, "provider_ref", "provider")
    service = optional(session, Service, clinic_id, record.service_ref, "service_ref", "service")
    booking = by_ref(session, Booking, clinic_id, ref)
    if booking is None:
        if state in UNBOOKED:
            return Applied(Result.UNCHANGED, None, note=UNBOOKED[state])
        return Applied(Result.CREATED, _book(session, clock, actor, record, ref, patient, provider, service).id)
    if booking.patient_id != patient.id:
        raise ValidationError("the appointment is another patient's now; cancel it and book anew", field="patient_ref")
    if service is not None and booking.service_id != service.id:
        raise ValidationError("a booking's service does not change; cancel it and book anew", field="service_ref")
    if state is AppointmentState.PROPOSED:
        raise Conflict(
            f"booking {booking.id} is {booking.status.value}; a booking does not go back to proposed", field="status"
        )
    if state in ENDS:
        return _end(session, clock, actor, booking, ENDS[state], record.cancel_reason)
    if booking.status not in ACTIVE:
        raise Conflict(f"booking {booking.id} is {booking.status.value}; it cannot become booked", field="status")
    moved = booking.start_at != record.start_at or (record.end_at is not None and booking.end_at != record.end_at)
    new_provider = provider is not None and provider.id != booking.provider_id
    if not moved and not new_provider:
        return Applied(Result.UNCHANGED, booking.id)
    move_booking(
        session,
        clock,
        actor,
        booking.id,
        start_at=record.start_at,
        end_at=record.end_at,
        provider_id=provider.id if provider is not None else None,
    )
    return Applied(Result.UPDATED, booking.id)


def _state(value: object) -> AppointmentState:
    try:
        return AppointmentState(value)
    except ValueError:
        states = ", ".join(s.value for s in AppointmentState)
        raise ValidationError(f"must be one of {states}", field="status") from None


def _book(
    session: Session,
    clock: Clock,
    actor: Actor,
    record: AppointmentRecord,
    ref: str,
    patient: Patient,
    provider: Provider | None,
    service: Service | None,
) -> Booking:
    channel = record.channel or Channel.ONLINE
    credited = None
    if record.booked_by_ref and record.channel is not None:
        credited = staff_member(session, actor.clinic_id, record.booked_by_ref).id
    request = BookingRequest(
        patient_id=patient.id,
        start_at=record.start_at,
        end_at=record.end_at,
        channel=channel,
        provider_id=provider.id if provider is not None else None,
        service_id=service.id if service is not None else None,
        on_behalf_of_staff_id=credited,
        external_ref=ref,
    )
    return create_booking(session, clock, actor, request)


def _end(
    session: Session, clock: Clock, actor: Actor, booking: Booking, to: BookingStatus, reason: str | None
) -> Applied:
    if booking.status is to:
        return Applied(Result.UNCHANGED, booking.id)
    if to not in TRANSITIONS[booking.status]:  # the rule's words, as lock_to_become says them
        raise Conflict(f"booking {booking.id} is {booking.status.value}; it cannot become {to.value}", field="status")
    if to is BookingStatus.CANCELLED:
        text = checked_text(reason.strip(), CANCEL_REASON_LENGTH, "cancel_reason") if reason else None
        cancel_booking(session, clock, actor, booking.id, text or None)
    elif to is BookingStatus.NO_SHOW:
        mark_no_show(session, clock, actor, booking.id)
    else:
        mark_attended(session, clock, actor, booking.id)
    return Applied(Result.UPDATED, booking.id)
