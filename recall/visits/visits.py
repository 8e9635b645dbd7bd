"""In-person visits: check-in, and the checkout where the front desk records the follow-up.

A patient whose visit calls for a follow-up should not leave without one. At
checkout the front desk books it on the spot, or the patient leaves without it
and a recall task goes into the operators' queue, due at the recommended date
but never before the clinic's cooling-off delay.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.catalog import Service, referenced
from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.patients import get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime, enum_column_type, locking
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
from recall.visits.bookings import BookingRequest, BookingSlot, attend, book


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
MAX_FOLLOW_UP_DAYS = 3650


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
    checked_in_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    follow_up: Mapped[FollowUp | None] = mapped_column(enum_column_type(FollowUp, "visit_follow_up"))
    follow_up_date: Mapped[date | None] = mapped_column(sa.Date)
    follow_up_booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", use_alter=True))
    # Operational remarks only ("call after 5 pm"); never a diagnosis.
    follow_up_note: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (
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


def get_visit(session: Session, clinic_id: int, visit_id: int, *, for_update: bool = False) -> Visit:
    stmt = sa.select(Visit).where(Visit.id == visit_id, Visit.clinic_id == clinic_id)
    visit = session.scalar(locking(stmt) if for_update else stmt)
    if visit is None:
        raise NotFound("visit", visit_id)
    return visit


def check_in(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    patient_id: int,
    provider_id: int | None = None,
    service_id: int | None = None,
    booking_id: int | None = None,
) -> Visit:
    """Record an arrival. Checking in for a booking marks that booking attended. A patient still checked in
    (a visit not checked out) cannot be checked in again: 409 naming that visit, also when two check-ins race
    (a partial unique index allows one open visit per patient)."""
    actor.require(Role.FRONTDESK, Role.MANAGER)
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
        f"patient {visit.patient_id} is still checked in for visit {visit.id} (since "
        f"{visit.checked_in_at.isoformat()}); check that visit out first",
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
    if interval is None and service is not None:
        interval = service.follow_up_interval_days
    if interval is None:
        if req.follow_up is FollowUp.BOOKED:
            return None  # the booking itself says when
        raise ValidationError(
            "is required: the visit's service has no default follow-up interval", field="follow_up_date"
        )
    return visit_day + timedelta(days=interval)


def checkout(session: Session, clock: Clock, actor: Actor, visit_id: int, req: CheckoutRequest) -> CheckoutResult:
    """Record the checkout, or repeat it (idempotent), or correct it."""
    actor.require(Role.FRONTDESK, Role.MANAGER)
    now = clock.now()
    if req.booking is not None and req.follow_up is not FollowUp.BOOKED:
        raise ValidationError("a booking goes only with follow_up 'booked'", field="booking")
    if req.follow_up is FollowUp.BOOKED and req.booking is None:
        raise ValidationError("is required when follow_up is 'booked'", field="booking")
    visit = get_visit(session, actor.clinic_id, visit_id, for_update=True)
    clinic = get_clinic(session, actor.clinic_id)
    # Held for the whole checkout, so a booking for the same service finds it in the session.
    _, service = referenced(session, clinic.id, None, visit.service_id)
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
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RecallTask)
            .where(RecallTask.origin_visit_id == visit_id, RecallTask.status == TaskStatus.WON)
        )
        > 0
    )


def list_visits(
    clinic_id: int,
    *,
    status: VisitStatus | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    patient_id: int | None = None,
) -> sa.Select[tuple[Visit]]:
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
