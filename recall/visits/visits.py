"""In-person visits: check-in, and the checkout where the front desk records the follow-up.

A patient whose visit calls for a follow-up should not leave without one. At
checkout the front desk books it on the spot, or the patient leaves without it
and a recall task goes into the operators' queue, due at the recommended date
but never before the clinic's cooling-off delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.clinic.catalog import Service, referenced
from recall.clinic.clinics import Clinic
from recall.clinic.patients import get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict, NotFound, RecallError, ValidationError
from recall.common.timeutil import local_day
from recall.queue.tasks import (
    CloseReason,
    RecallTask,
    TaskReason,
    TaskStatus,
    close_task,
    due_at_for,
    open_task,
    open_task_for_visit,
)
from recall.visits.booking import Booking, Channel, Source, get_booking
from recall.visits.booking_outcomes import attend
from recall.visits.bookings import BookingRequest, BookingSlot, book
from recall.visits.visit import NEEDS_RECALL, OPEN_VISIT_INDEX, FollowUp, Visit, VisitStatus

MAX_FOLLOW_UP_DAYS = 3650


# The follow-up booked at checkout: for the visit's patient, in person.
DeskBooking = BookingSlot


@dataclass(frozen=True)
class CheckoutRequest:
    follow_up: FollowUp
    follow_up_date: date | None = None
    follow_up_interval_days: int | None = None
    booking: DeskBooking | None = None
    note: str | None = None


@dataclass(frozen=True)
class CheckoutResult:
    visit: Visit
    booking: Booking | None
    recall_task: RecallTask | None
    replayed: bool  # True when this request repeated an earlier checkout and changed nothing


def check_in(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    patient_id: int,
    provider_id: int | None = None,
    service_id: int | None = None,
    booking_id: int | None = None,
    external_ref: str | None = None,
) -> Visit:
    """Record an arrival. Checking in for a booking marks that booking attended. A patient still checked in
    (a visit not checked out) cannot be checked in again: 409 naming that visit, also when two check-ins race
    (a partial unique index allows one open visit per patient)."""
    actor.require(Role.FRONTDESK, Role.MANAGER, Role.SYSTEM)
    now = clock.now()
    try:
        # locked when the booking will change: the patient, then the booking, as everywhere
        patient = get_patient(session, actor.clinic_id, patient_id, for_update=booking_id is not None)
    except NotFound:
        raise ValidationError(f"no patient {patient_id} in this clinic", field="patient_id") from None
    booking = None
    if booking_id is not None:
        try:
            booking = get_booking(session, actor.clinic_id, booking_id, for_update=True)
        except NotFound:
            raise ValidationError(f"no booking {booking_id} in this clinic", field="booking_id") from None
        if booking.patient_id != patient.id:
            raise ValidationError(f"booking {booking_id} is another patient's", field="booking_id")
        provider_id = provider_id or booking.provider_id
        service_id = service_id or booking.service_id
    referenced(session, actor.clinic_id, provider_id, service_id)
    already = _open_visit(session, patient.id)
    if already is not None:
        raise _still_open(already)
    visit = Visit(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        provider_id=provider_id,
        service_id=service_id,
        booking_id=booking_id,
        status=VisitStatus.CHECKED_IN,
        checked_in_at=now,
        checked_in_by_id=actor.staff_id,
        external_ref=external_ref,
    )
    session.add(visit)
    if booking is not None:
        attend(session, actor, booking, now)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another check-in of this patient committed since the check above: the open-visit index refused ours.
        if OPEN_VISIT_INDEX not in str(exc.orig) and "visits.patient_id" not in str(exc.orig):
            raise
        session.rollback()
        already = _open_visit(session, patient_id)
        if already is None:  # pragma: no cover - checked out again in between
            raise
        raise _still_open(already) from None
    session.commit()
    return visit


def _open_visit(session: Session, patient_id: int) -> Visit | None:
    return session.scalar(
        sa.select(Visit).where(Visit.patient_id == patient_id, Visit.status == VisitStatus.CHECKED_IN).limit(1)
    )


def _still_open(visit: Visit) -> Conflict:
    return Conflict(
        "the patient is still checked in for another visit; check that visit out first "
        f"(patient {visit.patient_id}, visit {visit.id}, since {visit.checked_in_at.isoformat()})",
        field="patient_id",
    )


def _recommended_date(visit: Visit, service: Service | None, clinic: Clinic, req: CheckoutRequest) -> date | None:
    if req.follow_up_date is not None and req.follow_up_interval_days is not None:
        raise ValidationError("give follow_up_date or follow_up_interval_days, not both", field="follow_up_date")
    if req.follow_up is FollowUp.NOT_NEEDED:
        return None
    visit_day = local_day(visit.checked_in_at, clinic.timezone)
    if req.follow_up_date is not None:
        if req.follow_up_date <= visit_day:
            raise ValidationError("must be after the visit day", field="follow_up_date")
        if req.follow_up_date > visit_day + timedelta(days=MAX_FOLLOW_UP_DAYS):
            raise ValidationError("must be within ten years of the visit", field="follow_up_date")
        return req.follow_up_date
    interval = req.follow_up_interval_days
    if interval is None:
        recommended = default_follow_up_date(visit, service, clinic)
        if recommended is not None:
            return recommended
        if req.follow_up is FollowUp.BOOKED:
            return None  # the booking itself says when
        raise ValidationError(
            "is required: the visit's service has no default follow-up interval", field="follow_up_date"
        )
    return visit_day + timedelta(days=interval)


def default_follow_up_date(visit: Visit, service: Service | None, clinic: Clinic) -> date | None:
    """The follow-up day the visit's service recommends (the visit's local day plus the service's interval), or
    None when the service names no interval: what a checkout without a date or interval records."""
    if service is None or service.follow_up_interval_days is None:
        return None
    return local_day(visit.checked_in_at, clinic.timezone) + timedelta(days=service.follow_up_interval_days)


def checkout(session: Session, clock: Clock, actor: Actor, visit_id: int, req: CheckoutRequest) -> CheckoutResult:
    """Record the checkout, or repeat it (idempotent), or correct it."""
    actor.require(Role.FRONTDESK, Role.MANAGER, Role.SYSTEM)
    now = clock.now()
    if req.booking is not None and req.follow_up is not FollowUp.BOOKED:
        raise ValidationError("a booking goes only with follow_up 'booked'", field="booking")
    if req.follow_up is FollowUp.BOOKED and req.booking is None:
        raise ValidationError("is required when follow_up is 'booked'", field="booking")
    visit, clinic, service = _visit_for_checkout(session, actor.clinic_id, visit_id)
    recommended = _recommended_date(visit, service, clinic, req)

    if visit.status is VisitStatus.CHECKED_OUT:
        replay = _replay(session, visit, req, recommended)
        if replay is not None:
            return replay
        return _correct(session, clock, actor, clinic, visit, req, recommended)

    booking = task = None
    if req.follow_up is FollowUp.BOOKED:
        booking = _book_at_desk(session, clock, actor, visit, req)
    elif req.follow_up in NEEDS_RECALL:
        task = _open_recall(session, clinic, visit, req.follow_up, recommended, now)
    # Changed after the booking's flush, so the visit is written once, at commit.
    visit.status = VisitStatus.CHECKED_OUT
    visit.checked_out_at = now
    visit.checked_out_by_id = actor.staff_id
    visit.follow_up, visit.follow_up_date, visit.follow_up_note = req.follow_up, recommended, req.note
    session.commit()
    return CheckoutResult(visit=visit, booking=booking, recall_task=task, replayed=False)


# The checkout's first read: the visit, locked, with its clinic and its service in the same statement (one round
# trip instead of three). Both stay in the session for the whole checkout, so the booking and the task find them
# there (session.get) without a statement of their own.
_CHECKOUT_READ = (
    sa.select(Visit, Clinic, Service)
    .join(Clinic, Clinic.id == Visit.clinic_id)
    .outerjoin(Service, sa.and_(Service.id == Visit.service_id, Service.clinic_id == Visit.clinic_id))
    .where(Visit.id == sa.bindparam("id"), Visit.clinic_id == sa.bindparam("clinic"))
    .with_for_update(of=Visit)
)


def _visit_for_checkout(session: Session, clinic_id: int, visit_id: int) -> tuple[Visit, Clinic, Service | None]:
    row = session.execute(_CHECKOUT_READ, {"id": visit_id, "clinic": clinic_id}).first()
    if row is None:
        raise NotFound("visit", visit_id)
    return row[0], row[1], row[2]


def _book_at_desk(session: Session, clock: Clock, actor: Actor, visit: Visit, req: CheckoutRequest) -> Booking:
    assert req.booking is not None
    desk = req.booking
    provider_id, service_id = desk.provider_id, desk.service_id
    if provider_id is None and service_id is None:
        # Named neither: the follow-up is with the same provider, for the same service.
        provider_id, service_id = visit.provider_id, visit.service_id
    booking_req = BookingRequest(
        patient_id=visit.patient_id,
        start_at=desk.start_at,
        end_at=desk.end_at,
        provider_id=provider_id,
        service_id=service_id,
        note=desk.note,
        channel=Channel.IN_PERSON,
        source=Source.VISIT_CHECKOUT,
    )
    try:
        booking = book(session, clock, actor, booking_req, checkout_visit_id=visit.id)
    except RecallError as exc:
        # The booking's fields sit under "booking" in a checkout request.
        exc.fields = {f"booking.{name}": msgs for name, msgs in exc.fields.items()}
        raise
    visit.follow_up_booking_id = booking.id
    return booking


def _open_recall(
    session: Session, clinic: Clinic, visit: Visit, follow_up: FollowUp, recommended: date | None, now: datetime
) -> RecallTask:
    return open_task(
        session,
        clinic=clinic,
        patient_id=visit.patient_id,
        reason=TaskReason(follow_up.value),
        due_at=due_at_for(clinic, recommended, now),
        now=now,
        follow_up_date=recommended,
        service_id=visit.service_id,
        provider_id=visit.provider_id,
        origin_visit_id=visit.id,
    )


def _replay(session: Session, visit: Visit, req: CheckoutRequest, recommended: date | None) -> CheckoutResult | None:
    """The same checkout sent again: answer with what it did, change nothing."""
    if req.follow_up is not visit.follow_up:
        return None
    booking = session.get(Booking, visit.follow_up_booking_id) if visit.follow_up_booking_id else None
    if req.follow_up is FollowUp.BOOKED:
        assert req.booking is not None
        if booking is None or booking.start_at != req.booking.start_at:
            return None
    elif recommended != visit.follow_up_date:
        return None
    task = session.scalar(
        sa.select(RecallTask).where(RecallTask.origin_visit_id == visit.id).order_by(RecallTask.id.desc()).limit(1)
    )
    return CheckoutResult(visit=visit, booking=booking, recall_task=task, replayed=True)


def _correct(
    session: Session,
    clock: Clock,
    actor: Actor,
    clinic: Clinic,
    visit: Visit,
    req: CheckoutRequest,
    recommended: date | None,
) -> CheckoutResult:
    """Change a recorded checkout: the patient came back to book, or the follow-up was misrecorded."""
    now = clock.now()
    if visit.follow_up is FollowUp.BOOKED:
        raise Conflict(
            "this checkout already has its follow-up booking; change that booking instead", field="follow_up"
        )
    task = open_task_for_visit(session, visit.id)
    if req.follow_up in NEEDS_RECALL and task is None and _recall_settled(session, visit.id):
        raise Conflict("the recall work for this visit is already settled", field="follow_up")
    booking = None
    if req.follow_up is FollowUp.BOOKED:
        if task is None and _recall_settled(session, visit.id):
            raise Conflict("an operator already won this patient back from the recall queue", field="follow_up")
        booking = _book_at_desk(session, clock, actor, visit, req)
        if task is not None:
            close_task(
                task,
                status=TaskStatus.CLOSED,
                reason=CloseReason.BOOKED_AT_DESK,
                now=now,
                by_staff_id=actor.staff_id,
                booking_id=booking.id,
            )
    elif req.follow_up is FollowUp.NOT_NEEDED:
        if task is not None:
            close_task(
                task, status=TaskStatus.CLOSED, reason=CloseReason.NOT_NEEDED, now=now, by_staff_id=actor.staff_id
            )
    elif task is None:
        task = _open_recall(session, clinic, visit, req.follow_up, recommended, now)
    else:
        task.reason = TaskReason(req.follow_up.value)
        if recommended != task.follow_up_date:
            task.follow_up_date = recommended
            task.due_at = due_at_for(clinic, recommended, visit.checked_out_at or now)
    visit.follow_up, visit.follow_up_date = req.follow_up, recommended
    if req.note is not None:
        visit.follow_up_note = req.note
    session.commit()
    return CheckoutResult(visit=visit, booking=booking, recall_task=task, replayed=False)


def _recall_settled(session: Session, visit_id: int) -> bool:
    won = session.scalar(
        sa.select(sa.func.count())
        .select_from(RecallTask)
        .where(RecallTask.origin_visit_id == visit_id, RecallTask.status == TaskStatus.WON)
    )
    return (won or 0) > 0
