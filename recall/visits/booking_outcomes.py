"""How a booking ends: attended, a no-show or cancelled, and what follows in the same transaction.

Attended earns the booking's credit on the day of the visit; a no-show or a cancellation voids it. Every
end stops the booking's waiting reminders and closes the service tasks about it, and a lost follow-up
booking puts the patient back in the recall queue unless another booking covers that visit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic, get_clinic
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.errors import Conflict
from recall.common.timeutil import local_day
from recall.credit.ledger import CreditKind, record_outcome
from recall.events import announce
from recall.events.types import EventType
from recall.queue.tasks import RecallTask, TaskReason, close_service_tasks, open_task, open_task_for_visit
from recall.reminders import reminders
from recall.visits.booking import ACTIVE, TRANSITIONS, Booking, BookingStatus, lock_booking, lock_to_become
from recall.visits.visit import Visit

# A patient may arrive early; attendance is not recorded sooner than this before the start.
ATTEND_EARLIEST = timedelta(hours=2)


def mark_attended(session: Session, clock: Clock, actor: Actor, booking_id: int) -> Booking:
    booking = lock_booking(session, actor.clinic_id, booking_id)
    attend(session, actor, booking, clock.now())
    session.commit()
    return booking


def attend(session: Session, actor: Actor, booking: Booking, now: datetime) -> None:
    """The patient came: the booking is realized and its credit earned (the caller commits)."""
    if BookingStatus.ATTENDED not in TRANSITIONS[booking.status]:
        raise Conflict(
            f"the booking cannot become attended (booking {booking.id} is {booking.status.value})", field="status"
        )
    if now < booking.start_at - ATTEND_EARLIEST:
        raise Conflict("the appointment has not come yet; attendance is recorded on the day", field="status")
    booking.status, booking.updated_at = BookingStatus.ATTENDED, now
    announce.booking(session, EventType.BOOKING_ATTENDED, booking, now)
    reminders.cancel_waiting(session, now, booking_id=booking.id, reason="attended")
    close_service_tasks(session, booking.id, now)
    clinic = get_clinic(session, actor.clinic_id)
    # A realized booking counts on the day of the visit.
    record_outcome(
        session,
        booking_id=booking.id,
        kind=CreditKind.EARNED,
        now=now,
        day=local_day(booking.start_at, clinic.timezone),
    )


def mark_no_show(session: Session, clock: Clock, actor: Actor, booking_id: int) -> Booking:
    now = clock.now()
    booking = lock_to_become(session, actor.clinic_id, booking_id, BookingStatus.NO_SHOW)
    if now < booking.start_at:
        raise Conflict("the appointment has not started yet; a no-show is recorded after its start", field="status")
    _end(session, actor, booking, BookingStatus.NO_SHOW, now, TaskReason.NO_SHOW)
    session.commit()
    return booking


def cancel(session: Session, clock: Clock, actor: Actor, booking_id: int, reason: str | None = None) -> Booking:
    """Cancel a booking inside the caller's transaction: its credit is void, its reminders stop."""
    booking = lock_to_become(session, actor.clinic_id, booking_id, BookingStatus.CANCELLED)
    booking.cancel_reason = reason
    _end(session, actor, booking, BookingStatus.CANCELLED, clock.now(), TaskReason.BOOKING_CANCELLED)
    return booking


def cancel_booking(session: Session, clock: Clock, actor: Actor, booking_id: int, reason: str | None = None) -> Booking:
    booking = cancel(session, clock, actor, booking_id, reason)
    session.commit()
    return booking


_ENDED = {BookingStatus.CANCELLED: EventType.BOOKING_CANCELLED, BookingStatus.NO_SHOW: EventType.BOOKING_NO_SHOW}


def _end(
    session: Session, actor: Actor, booking: Booking, status: BookingStatus, now: datetime, task_reason: TaskReason
) -> None:
    booking.status, booking.updated_at = status, now
    announce.booking(session, _ENDED[status], booking, now)
    reminders.cancel_waiting(session, now, booking_id=booking.id, reason=status.value)
    close_service_tasks(session, booking.id, now)
    clinic = get_clinic(session, actor.clinic_id)
    record_outcome(session, booking_id=booking.id, kind=CreditKind.VOID, now=now, day=local_day(now, clinic.timezone))
    _reopen_follow_up(session, clinic, booking, now, task_reason)


def _reopen_follow_up(
    session: Session, clinic: Clinic, booking: Booking, now: datetime, reason: TaskReason
) -> RecallTask | None:
    """A lost follow-up booking puts the patient back in the recall queue, unless another booking covers it."""
    visit_id = booking.follow_up_of_visit_id
    if visit_id is None:
        return None
    covered = session.scalar(
        sa.select(Booking.id)
        .where(
            Booking.follow_up_of_visit_id == visit_id,
            Booking.id != booking.id,
            Booking.status.in_((*ACTIVE, BookingStatus.ATTENDED)),
        )
        .limit(1)
    )
    if covered is not None or open_task_for_visit(session, visit_id) is not None:
        return None
    visit = session.get(Visit, visit_id)
    recommended: date | None = visit.follow_up_date if visit else None
    due = max(clinic.first_calling_minute(recommended), now) if recommended is not None else now
    return open_task(
        session,
        clinic=clinic,
        patient_id=booking.patient_id,
        reason=reason,
        due_at=due,
        now=now,
        follow_up_date=recommended,
        service_id=booking.service_id,
        provider_id=booking.provider_id,
        origin_visit_id=visit_id,
        origin_booking_id=booking.id,
    )
