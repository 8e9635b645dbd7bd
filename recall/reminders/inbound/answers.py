"""What confirm, cancel and a request do: the patient's answer, by key press or by SMS, acted on.

Booking changes go through ``recall.visits.bookings`` so the credit ledger and the recall re-opening stay in one
place. Those use cases commit, so they are the last step; every other path commits here, once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.text import UNSTORABLE
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus, open_task
from recall.reminders.replies import Intent
from recall.visits.booking import lock_patient_and_booking
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import ACTIVE, Booking, BookingStatus, confirm_booking

MAX_TEXT = 1600  # RecallTask.request_text


def answer(
    session: Session,
    clock: Clock,
    booking: Booking | None,
    patient: Patient,
    intent: Intent,
    *,
    text: str | None,
    apply: bool,
    reason: str,
) -> str:
    """Act on the patient's answer about ``booking`` (None: no reminder to go by) and commit; returns the ack key.

    ``apply`` is False for a retried webhook: nothing changes, and the ack is read from the state the first
    delivery left. A booking that is over, or whose appointment has begun, is not changed by a reply.
    """
    now = clock.now()
    if intent not in (Intent.CONFIRM, Intent.CANCEL) or booking is None:
        if apply:  # a person reads what they wrote (or calls them back after a 3)
            live = booking if booking is not None and booking.status in ACTIVE else None
            _task(session, now, patient, live, TaskReason.PATIENT_REQUEST, text)
        session.commit()
        return "callback"
    if not apply or booking.status not in ACTIVE or booking.start_at <= now:
        session.commit()
        done = BookingStatus.CONFIRMED if intent is Intent.CONFIRM else BookingStatus.CANCELLED
        return ("confirmed" if intent is Intent.CONFIRM else "cancelled") if booking.status is done else "unchanged"
    system = Actor.system(booking.clinic_id)  # the patient's own answer: no staff member made this change
    if intent is Intent.CONFIRM:
        if booking.status is BookingStatus.CONFIRMED:
            session.commit()
        else:
            confirm_booking(session, clock, system, booking.id)  # commits
        return "confirmed"
    if booking.follow_up_of_visit_id is None:  # else the core re-opens the visit's recall work itself
        _task(session, now, patient, booking, TaskReason.BOOKING_CANCELLED, None)
    cancel_booking(session, clock, system, booking.id, reason)  # commits
    return "cancelled"


def _task(
    session: Session, now: datetime, patient: Patient, booking: Booking | None, reason: TaskReason, text: str | None
) -> RecallTask:
    """An operator's task due now; a second request about the same booking joins the open one."""
    same_booking = (
        RecallTask.origin_booking_id.is_(None) if booking is None else RecallTask.origin_booking_id == booking.id
    )
    task = session.scalar(
        sa.select(RecallTask)
        .where(
            RecallTask.patient_id == patient.id,
            RecallTask.reason == reason,
            RecallTask.status == TaskStatus.OPEN,
            same_booking,
        )
        .limit(1)
    )
    if task is None:
        clinic = session.get(Clinic, patient.clinic_id)
        assert clinic is not None
        task = open_task(
            session,
            clinic=clinic,
            patient_id=patient.id,
            reason=reason,
            due_at=now,
            now=now,
            follow_up_date=None,
            service_id=booking.service_id if booking else None,
            provider_id=booking.provider_id if booking else None,
            origin_booking_id=booking.id if booking else None,
        )
    if text:
        joined = f"{task.request_text}\n{text}" if task.request_text else text
        task.request_text = joined[-MAX_TEXT:]
    return task


def locked_booking(session: Session, booking_id: int) -> Booking | None:
    """The booking, locked in the one order every use case that changes a booking takes (its patient first)."""
    row = session.execute(sa.select(Booking.clinic_id, Booking.patient_id).where(Booking.id == booking_id)).first()
    if row is None:
        return None
    return lock_patient_and_booking(session, row.clinic_id, row.patient_id, booking_id)[1]


def storable(text: str) -> str | None:
    """The patient's words as any database stores them: no NUL or lone surrogates, at most 1600 characters."""
    cleaned = UNSTORABLE.sub("", text or "").strip()
    return cleaned[:MAX_TEXT] or None
