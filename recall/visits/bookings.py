"""Bookings: who made them, through which channel, and the credit that follows.

The channel decides which role earns a booking: in person is the front desk's,
phone, chat and SMS are the operators', automated channels are nobody's. Every
status change that touches credit appends to the ledger in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Service, referenced
from recall.clinic.clinics import get_clinic
from recall.clinic.patients import get_patient
from recall.clinic.staff import get_staff
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict, Forbidden, NotFound, ValidationError
from recall.credit.ledger import record_pending
from recall.events import announce
from recall.events.types import EventType
from recall.queue.tasks import (
    SERVICE_REASONS,
    CloseReason,
    RecallTask,
    TaskStatus,
    close_task,
    get_task,
)
from recall.reminders import reminders
from recall.visits.booking import (
    ACTIVE,
    CHANNEL_ROLE,
    Booking,
    BookingStatus,
    Channel,
    Source,
    lock_booking,
    lock_to_become,
)

# Tolerance for clocks and slow typing when a booking starts "now".
START_GRACE = timedelta(minutes=5)
DEFAULT_DURATION = timedelta(minutes=30)
MAX_DURATION = timedelta(hours=12)
MAX_AHEAD = timedelta(days=3 * 366)


@dataclass(frozen=True)
class BookingSlot:
    """When and with whom a booking made inside another request (a checkout, a contact attempt) takes place."""

    start_at: datetime
    end_at: datetime | None = None
    provider_id: int | None = None
    service_id: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class BookingRequest:
    patient_id: int
    start_at: datetime
    channel: Channel
    end_at: datetime | None = None
    provider_id: int | None = None
    service_id: int | None = None
    source: Source = Source.NEW_REQUEST
    recall_task_id: int | None = None
    on_behalf_of_staff_id: int | None = None
    note: str | None = None
    external_ref: str | None = None  # the source's identifier, for a booking an import makes


def credit_target(
    session: Session, actor: Actor, channel: Channel, on_behalf_of: int | None
) -> tuple[Role | None, int | None]:
    """Who earns a booking recorded by ``actor`` through ``channel``: (role, staff id) or (None, None)."""
    earning_role = CHANNEL_ROLE[channel]
    if actor.role not in (Role.MANAGER, Role.SYSTEM):  # the system (an EHR's import) records as a manager does
        if on_behalf_of is not None:
            raise Forbidden("only a manager may record a booking on behalf of another staff member")
        if earning_role is not actor.role:
            if actor.role is Role.FRONTDESK:
                raise Forbidden(
                    f"the front desk records in-person bookings; a {channel.value} booking is remote "
                    "and belongs to the operators"
                )
            if earning_role is Role.FRONTDESK:
                raise Forbidden(
                    "operators record remote bookings (phone, chat, sms); an in-person booking "
                    "belongs to the front desk"
                )
            raise Forbidden(f"a {channel.value} booking is recorded by the system, not by an operator")
        return actor.role, actor.staff_id
    if on_behalf_of is None:
        return None, None
    if earning_role is None:
        raise ValidationError(
            f"a {channel.value} booking earns nobody credit; leave this out", field="on_behalf_of_staff_id"
        )
    try:
        staff = get_staff(session, actor.clinic_id, on_behalf_of)
    except NotFound:
        raise ValidationError(f"no staff member {on_behalf_of} in this clinic", field="on_behalf_of_staff_id") from None
    if not staff.active:
        raise ValidationError(f"staff member {on_behalf_of} is inactive", field="on_behalf_of_staff_id")
    if staff.role is not earning_role:
        raise ValidationError(
            f"a {channel.value} booking earns {earning_role.value} credit, and staff member {on_behalf_of} "
            f"is {staff.role.value}",
            field="on_behalf_of_staff_id",
        )
    return earning_role, staff.id


def _times(start: datetime, end: datetime | None, service: Service | None, now: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None:
        raise ValidationError("must carry a UTC offset or Z", field="start_at")
    if start < now - START_GRACE:
        raise ValidationError("must not be in the past", field="start_at")
    if start > now + MAX_AHEAD:
        raise ValidationError("must be within three years from now", field="start_at")
    if end is None:
        end = start + (timedelta(minutes=service.duration_minutes) if service else DEFAULT_DURATION)
    elif end.tzinfo is None:
        raise ValidationError("must carry a UTC offset or Z", field="end_at")
    if end <= start:
        raise ValidationError("must be after start_at", field="end_at")
    if end - start > MAX_DURATION:
        raise ValidationError("a booking lasts at most 12 hours", field="end_at")
    return start, end


# Built once (every booking and move runs one): building cost more CPU than running it.
_OVERLAP_WHERE = (
    Booking.patient_id == sa.bindparam("patient"),
    Booking.status.in_(ACTIVE),
    Booking.start_at < sa.bindparam("end"),
    Booking.end_at > sa.bindparam("start"),
)
_OVERLAP = sa.select(Booking.id).where(*_OVERLAP_WHERE).limit(1)
_OVERLAP_OTHER = sa.select(Booking.id).where(*_OVERLAP_WHERE, Booking.id != sa.bindparam("exclude")).limit(1)


def _check_no_overlap(
    session: Session, patient_id: int, start: datetime, end: datetime, exclude_id: int | None = None
) -> None:
    params = {"patient": patient_id, "start": start, "end": end}
    if exclude_id is None:
        clash = session.scalar(_OVERLAP, params)
    else:
        clash = session.scalar(_OVERLAP_OTHER, {**params, "exclude": exclude_id})
    if clash is not None:
        raise Conflict(f"the patient already has a booking at an overlapping time (booking {clash})", field="start_at")


def book(
    session: Session, clock: Clock, actor: Actor, req: BookingRequest, *, checkout_visit_id: int | None = None
) -> Booking:
    """Make a booking inside the caller's transaction (the caller commits)."""
    now = clock.now()
    if req.source is Source.VISIT_CHECKOUT and checkout_visit_id is None:
        raise ValidationError("a booking at checkout is made through the visit's checkout", field="source")
    if req.source is Source.RECALL_TASK and req.recall_task_id is None:
        raise ValidationError("is required when source is recall_task", field="recall_task_id")
    if req.recall_task_id is not None and req.source is not Source.RECALL_TASK:
        raise ValidationError("only goes with source recall_task", field="recall_task_id")
    role, staff_id = credit_target(session, actor, req.channel, req.on_behalf_of_staff_id)
    clinic = get_clinic(session, actor.clinic_id)
    try:
        patient = get_patient(session, clinic.id, req.patient_id, for_update=True)
    except NotFound:
        raise ValidationError(f"no patient {req.patient_id} in this clinic", field="patient_id") from None
    provider, service = referenced(session, clinic.id, req.provider_id, req.service_id)
    if provider is None and service is None:
        raise ValidationError("give a provider_id, a service_id, or both", field="service_id")
    start, end = _times(req.start_at, req.end_at, service, now)
    _check_no_overlap(session, patient.id, start, end)

    task: RecallTask | None = None
    follow_up_of = checkout_visit_id
    if req.recall_task_id is not None:
        try:
            task = get_task(session, clinic.id, req.recall_task_id, for_update=True)
        except NotFound:
            raise ValidationError(
                f"no recall task {req.recall_task_id} in this clinic", field="recall_task_id"
            ) from None
        if task.status is not TaskStatus.OPEN:
            raise Conflict(f"recall task {task.id} is already {task.status.value}", field="recall_task_id")
        if task.patient_id != patient.id:
            raise ValidationError(f"recall task {task.id} is for another patient", field="recall_task_id")
        if task.lease_holder_id not in (None, actor.staff_id) and task.lease_expires_at and task.lease_expires_at > now:
            raise Conflict(f"recall task {task.id} is being worked by another operator", field="recall_task_id")
        follow_up_of = task.origin_visit_id

    booking = Booking(
        clinic_id=clinic.id,
        patient_id=patient.id,
        provider_id=req.provider_id,
        service_id=req.service_id,
        start_at=start,
        end_at=end,
        status=BookingStatus.BOOKED,
        channel=req.channel,
        source=req.source,
        source_visit_id=checkout_visit_id,
        recall_task_id=req.recall_task_id,
        follow_up_of_visit_id=follow_up_of,
        created_by_id=actor.staff_id,
        credited_staff_id=staff_id,
        credited_role=role,
        note=req.note,
        external_ref=req.external_ref,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()
    announce.booking(session, EventType.BOOKING_CREATED, booking, now)
    if task is not None:
        # A booking from a recall task wins it, whatever provider or service it ended up with.
        close_task(
            task,
            status=TaskStatus.WON,
            reason=CloseReason.BOOKED,
            now=now,
            by_staff_id=actor.staff_id,
            booking_id=booking.id,
        )
    reminders.plan_booking(session, booking, now, reason="booked", new=True)
    if staff_id is not None and role is not None:
        record_pending(
            session,
            booking_id=booking.id,
            clinic_id=clinic.id,
            clinic_zone=clinic.timezone,
            staff_id=staff_id,
            role=role,
            service_id=booking.service_id,
            now=now,
            # a win-back, not service work about a booking the patient already had or asked for
            is_recall=task is not None and task.reason not in SERVICE_REASONS and role is Role.OPERATOR,
        )
    return booking


def create_booking(session: Session, clock: Clock, actor: Actor, req: BookingRequest) -> Booking:
    booking = book(session, clock, actor, req)
    session.commit()
    return booking


def confirm(session: Session, clock: Clock, actor: Actor, booking_id: int) -> Booking:
    """The patient confirmed (the caller commits): steps the policy does not run once confirmed are dropped."""
    booking = lock_to_become(session, actor.clinic_id, booking_id, BookingStatus.CONFIRMED)
    booking.status, booking.updated_at = BookingStatus.CONFIRMED, clock.now()
    announce.booking(session, EventType.BOOKING_CONFIRMED, booking, booking.updated_at)
    reminders.plan_booking(session, booking, clock.now(), reason="confirmed")
    return booking


def confirm_booking(session: Session, clock: Clock, actor: Actor, booking_id: int) -> Booking:
    booking = confirm(session, clock, actor, booking_id)
    session.commit()
    return booking


def move(
    session: Session,
    clock: Clock,
    actor: Actor,
    booking_id: int,
    *,
    start_at: datetime,
    end_at: datetime | None = None,
    provider_id: int | None = None,
) -> Booking:
    """A new time (and perhaps provider), inside the caller's transaction. The credit stays pending; a
    confirmation must be given again."""
    now = clock.now()
    booking = lock_booking(session, actor.clinic_id, booking_id)
    if booking.status not in ACTIVE:
        raise Conflict(
            f"booking {booking.id} is {booking.status.value}; only a booked or confirmed booking moves", field="status"
        )
    provider, service = referenced(session, actor.clinic_id, provider_id, booking.service_id)
    if end_at is None:
        end_at = start_at + (booking.end_at - booking.start_at)
    start, end = _times(start_at, end_at, service, now)
    _check_no_overlap(session, booking.patient_id, start, end, exclude_id=booking.id)
    was = {"previous_start_at": booking.start_at, "previous_provider_id": booking.provider_id}
    booking.start_at, booking.end_at, booking.updated_at = start, end, now
    if provider is not None:
        booking.provider_id = provider.id
    if booking.status is BookingStatus.CONFIRMED:
        booking.status = BookingStatus.BOOKED
    announce.booking(session, EventType.BOOKING_MOVED, booking, now, **was)
    reminders.plan_booking(session, booking, now, reason="moved")
    return booking


def move_booking(
    session: Session,
    clock: Clock,
    actor: Actor,
    booking_id: int,
    *,
    start_at: datetime,
    end_at: datetime | None = None,
    provider_id: int | None = None,
) -> Booking:
    booking = move(session, clock, actor, booking_id, start_at=start_at, end_at=end_at, provider_id=provider_id)
    session.commit()
    return booking
