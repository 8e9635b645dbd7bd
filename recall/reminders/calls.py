"""Reminders as staff see them, and the front desk's list of reminder calls with what each call achieved.

A clinic's policy may ask the front desk to call a patient before a visit (a ``frontdesk_call`` step).
When the step falls due, ``reminders.hand_over`` marks it ``handed_over``: that reminder row *is* the call
on the desk's list. The desk works through a list at the clinic rather than the operators' leased queue,
so no recall task is made for it.

A call is **open** while nobody has finished it (``handled_at`` is NULL), the visit can still happen (the
booking is booked or confirmed and has not begun) and the patient has not opted out (a reminder never goes
to a patient who did). Because "open" is computed rather than stored, a call about a cancelled, moved-past
or finished booking leaves the list without any write, and no use case that ends a booking or opts a
patient out has to know about the desk's list.

Recording a call applies what the patient said through the core's own use cases (confirm, cancel, move,
opt-out) in the same transaction as the call record, so the two never disagree. No answer, busy and
voicemail keep the call open for another try; every other outcome finishes it. The front desk earns
nothing for a reminder call (pay is for bookings the patient attended), so the ledger changes only as
the core's cancel changes it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.patients import Patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import locking
from recall.common.errors import Conflict, NotFound, ValidationError
from recall.reminders import reminders
from recall.reminders.patient_edits import opt_out
from recall.reminders.planning import Channel
from recall.reminders.reminders import RETRY_CALL, CallOutcome, Reminder, ReminderStatus
from recall.visits import booking_outcomes, bookings
from recall.visits.booking import ACTIVE, Booking, BookingStatus, is_upcoming, lock_patient_and_booking

MAX_NOTE = 1000
CANCEL_REASON = "patient cancelled on a reminder call"
# What a caller may record; "superseded" is the system's word for a call that a newer one replaced.
RECORDABLE = tuple(o for o in CallOutcome if o is not CallOutcome.SUPERSEDED)
MOVE_FIELDS = ("start_at", "end_at", "provider_id")


class CallState(str, enum.Enum):
    OPEN = "open"
    DONE = "done"
    ALL = "all"


@dataclass(frozen=True)
class CallInput:
    """How one call went. A note replaces the call's earlier note; an empty one clears it; none keeps it."""

    outcome: CallOutcome
    note: str | None = None
    start_at: datetime | None = None  # the new time, with the outcome rescheduled (and only then)
    end_at: datetime | None = None
    provider_id: int | None = None


@dataclass(frozen=True)
class Call:
    """A call on the desk's list, with the booking and the patient the caller needs to make it."""

    reminder: Reminder
    booking: Booking
    patient: Patient
    open: bool


# --- reading -----------------------------------------------------------------------------------------------------


def get_reminder(session: Session, clinic_id: int, reminder_id: int, *, for_update: bool = False) -> Reminder:
    stmt = sa.select(Reminder).where(Reminder.id == reminder_id, Reminder.clinic_id == clinic_id)
    # locked, the row is read again: another desk may have just recorded this call
    reminder = session.scalar(locking(stmt) if for_update else stmt)
    if reminder is None:
        raise NotFound("reminder", reminder_id)
    return reminder


def browse_reminders(
    clinic_id: int,
    *,
    booking_id: int | None = None,
    patient_id: int | None = None,
    status: ReminderStatus | None = None,
    channel: Channel | None = None,
    send_from: datetime | None = None,
    send_to: datetime | None = None,
) -> sa.Select[Reminder]:
    """Every reminder of the clinic and its delivery state, by planned send time; [send_from, send_to)."""
    stmt = reminders.list_reminders(clinic_id, booking_id=booking_id, status=status, channel=channel)
    if patient_id is not None:
        stmt = stmt.where(Reminder.patient_id == patient_id)
    if send_from is not None:
        stmt = stmt.where(Reminder.send_at >= send_from)
    if send_to is not None:
        stmt = stmt.where(Reminder.send_at < send_to)
    return stmt


def list_calls(
    clinic_id: int,
    *,
    now: datetime,
    state: CallState = CallState.OPEN,
    booking_id: int | None = None,
    patient_id: int | None = None,
) -> sa.Select[Reminder]:
    """The front desk's calls, soonest visit first (for paging; ``describe`` adds booking and patient)."""
    is_open = sa.and_(Reminder.handled_at.is_(None), is_upcoming(now), sa.not_(Patient.opted_out))
    stmt = (
        sa.select(Reminder)
        .join(Booking, Booking.id == Reminder.booking_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(
            Reminder.clinic_id == clinic_id,
            Reminder.channel == Channel.FRONTDESK_CALL,
            Reminder.status == ReminderStatus.HANDED_OVER,
        )
        .order_by(Booking.start_at, Reminder.id)
    )
    if state is CallState.OPEN:
        stmt = stmt.where(is_open)
    elif state is CallState.DONE:
        stmt = stmt.where(sa.not_(is_open))
    if booking_id is not None:
        stmt = stmt.where(Reminder.booking_id == booking_id)
    if patient_id is not None:
        stmt = stmt.where(Reminder.patient_id == patient_id)
    return stmt


def is_open(reminder: Reminder, booking: Booking, patient: Patient, now: datetime) -> bool:
    """The rule ``list_calls`` applies in SQL, for one call already loaded."""
    return reminder.handled_at is None and booking.status in ACTIVE and booking.start_at > now and not patient.opted_out


def describe(session: Session, calls: Sequence[Reminder], now: datetime) -> list[Call]:
    """A page of calls with their bookings and patients, loaded in two queries rather than two per call."""
    if not calls:
        return []
    booked = {b.id: b for b in session.scalars(sa.select(Booking).where(Booking.id.in_({r.booking_id for r in calls})))}
    people = {p.id: p for p in session.scalars(sa.select(Patient).where(Patient.id.in_({r.patient_id for r in calls})))}
    return [
        Call(r, booked[r.booking_id], people[r.patient_id], is_open(r, booked[r.booking_id], people[r.patient_id], now))
        for r in calls
    ]


# --- recording a call --------------------------------------------------------------------------------------------


def record_call(session: Session, clock: Clock, actor: Actor, reminder_id: int, data: CallInput) -> Call:
    """Record how a front-desk call went and apply what the patient said, in one transaction; commits."""
    actor.require(Role.FRONTDESK, Role.MANAGER)
    now = clock.now()
    _check(data)
    found = get_reminder(session, actor.clinic_id, reminder_id)
    # The lock order of every use case that changes a booking: the patient, then the booking, then the call.
    patient, booking = lock_patient_and_booking(session, actor.clinic_id, found.patient_id, found.booking_id)
    reminder = get_reminder(session, actor.clinic_id, reminder_id, for_update=True)
    _still_to_make(reminder, booking, patient, now)
    _apply(session, clock, actor, booking, patient, data)
    reminder.call_outcome = data.outcome
    reminder.call_attempts += 1
    reminder.called_by_id, reminder.called_at, reminder.updated_at = actor.staff_id, now, now
    if data.note is not None:
        reminder.call_note = data.note.strip() or None
    if data.outcome not in RETRY_CALL:
        reminder.handled_at = now
    session.commit()
    return Call(reminder, booking, patient, is_open(reminder, booking, patient, now))


def _check(data: CallInput) -> None:
    if data.outcome not in RECORDABLE:
        raise ValidationError("is recorded by the system when a newer call replaces this one", field="outcome")
    if data.note is not None and len(data.note) > MAX_NOTE:
        raise ValidationError(f"must be at most {MAX_NOTE} characters", field="note")
    if data.outcome is CallOutcome.RESCHEDULED:
        if data.start_at is None:
            raise ValidationError("is required when the outcome is rescheduled", field="start_at")
        return
    for name in MOVE_FIELDS:
        if getattr(data, name) is not None:
            raise ValidationError("only goes with the outcome rescheduled", field=name)


def _still_to_make(reminder: Reminder, booking: Booking, patient: Patient, now: datetime) -> None:
    """A call may be recorded only while it is on the desk's list; the messages carry ids, never patient data."""
    if reminder.channel is not Channel.FRONTDESK_CALL:
        raise Conflict(
            f"reminder {reminder.id} is a {reminder.channel.value} reminder, not a front-desk call", field="channel"
        )
    if reminder.status is not ReminderStatus.HANDED_OVER:
        raise Conflict(
            f"reminder {reminder.id} is {reminder.status.value}; the call joins the list when it is due", field="status"
        )
    if reminder.handled_at is not None:
        outcome = reminder.call_outcome.value if reminder.call_outcome else "done"
        raise Conflict(f"this call is already done ({outcome})", field="handled_at")
    if booking.status not in ACTIVE:
        raise Conflict(
            f"booking {booking.id} is {booking.status.value}; there is no visit left to remind of",
            field="booking.status",
        )
    if booking.start_at <= now:
        raise Conflict(f"booking {booking.id} has begun; the reminder call is over", field="booking.start_at")
    if patient.opted_out:
        raise Conflict(f"patient {patient.id} opted out of all contact", field="patient.opted_out")


def _apply(session: Session, clock: Clock, actor: Actor, booking: Booking, patient: Patient, data: CallInput) -> None:
    """What the patient said, through the core's use cases (none of which commits)."""
    if data.outcome is CallOutcome.CONFIRMED:
        if booking.status is not BookingStatus.CONFIRMED:  # confirming a confirmed visit again is no news
            bookings.confirm(session, clock, actor, booking.id)
    elif data.outcome is CallOutcome.CANCELLED:
        booking_outcomes.cancel(session, clock, actor, booking.id, CANCEL_REASON)
    elif data.outcome is CallOutcome.RESCHEDULED:
        assert data.start_at is not None
        bookings.move(
            session, clock, actor, booking.id, start_at=data.start_at, end_at=data.end_at, provider_id=data.provider_id
        )
    elif data.outcome is CallOutcome.WRONG_NUMBER:
        patient.phone_invalid, patient.updated_at = True, clock.now()
    elif data.outcome is CallOutcome.OPTED_OUT:
        opt_out(session, patient, clock.now(), actor.staff_id)
    # reached, no_answer, busy, voicemail: the booking stands as it is
