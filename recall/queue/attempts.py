"""Contact attempts: every call, chat or SMS an operator makes on a recall task, and what it leads to.

The outcome decides the task's fate by the clinic's rules:

- no_answer, busy, voicemail: back in the queue after the clinic's growing backoff; after
  ``recall_max_attempts`` unanswered attempts the task ends as unreachable.
- declined: closed, with the reason.
- wrong_number: the patient's phone is flagged invalid and the task parked until the number is corrected.
- callback_requested: due at the time the patient asked for, reserved for this operator for the clinic's
  hold window.
- opted_out: the patient is opted out; all their open tasks end.
- booked: a booking through the core's booking flow wins the task and credits the operator at the recall
  rate (the base rate on a service call); one that names neither provider nor service is with the task's
  suggested ones.

Service calls (a reminder call, a patient's request: ``recall_tasks.SERVICE_REASONS``) are about a
booking the patient already has, and add four outcomes that act on it through the core's use cases,
in the attempt's transaction:

- confirmed: the booking is confirmed.
- cancelled: the booking is cancelled (its credit void, its reminders stopped, a follow-up's recall re-opened).
- rescheduled: the booking moves to the attempt's ``booking.start_at`` (and ``end_at``, ``provider_id``).
- resolved: the patient was helped; the booking stands as it was.

Each closes the task with that reason. Only the operator holding the task's lease may log an attempt on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.common.errors import Conflict, RecallError, ValidationError
from recall.events import announce
from recall.queue import claims as queue
from recall.queue.calling_hours import in_calling_hours
from recall.queue.task_facts import note_attempt
from recall.queue.tasks import (
    SERVICE_REASONS,
    CloseReason,
    RecallTask,
    TaskStatus,
    close_task,
    drop_lease,
    set_due,
)
from recall.reminders.patient_edits import opt_out
from recall.visits import booking_outcomes, bookings
from recall.visits.booking import ACTIVE, BookingStatus, Channel, Source, get_booking
from recall.visits.bookings import BookingRequest, BookingSlot

MAX_DURATION_SECONDS = 4 * 3600
MAX_CALLBACK_AHEAD = timedelta(days=90)


class Outcome(str, enum.Enum):
    BOOKED = "booked"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    CALLBACK_REQUESTED = "callback_requested"
    OPTED_OUT = "opted_out"
    # Only on service work about the patient's booking (a reminder call, a patient's request):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    RESOLVED = "resolved"


class AttemptChannel(str, enum.Enum):
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"


# Outcomes of a service call, and the task's close reason for each.
SERVICE_OUTCOMES: dict[Outcome, CloseReason] = {
    Outcome.CONFIRMED: CloseReason.CONFIRMED,
    Outcome.CANCELLED: CloseReason.CANCELLED,
    Outcome.RESCHEDULED: CloseReason.RESCHEDULED,
    Outcome.RESOLVED: CloseReason.RESOLVED,
}
# The patient was reached and spoke for themselves: these count as contacts.
ANSWERED = frozenset(
    {Outcome.BOOKED, Outcome.DECLINED, Outcome.CALLBACK_REQUESTED, Outcome.OPTED_OUT, *SERVICE_OUTCOMES}
)
RETRY = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.BUSY})


class ContactAttempt(Base):
    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("recall_tasks.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    channel: Mapped[AttemptChannel] = mapped_column(enum_column_type(AttemptChannel, "attempt_channel"))
    outcome: Mapped[Outcome] = mapped_column(enum_column_type(Outcome, "attempt_outcome"))
    answered: Mapped[bool] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    decline_reason: Mapped[str | None] = mapped_column(sa.String(200))
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # On a callback request: the start of the task's next attempt, (started_at, id) after this one, kept as
    # attempts are logged (``note_callbacks``): time to answer reads it instead of searching the task's attempts.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"))

    __table_args__ = (
        sa.CheckConstraint(
            f"duration_seconds >= 0 AND duration_seconds <= {MAX_DURATION_SECONDS}", name="duration_range"
        ),
        sa.Index("ix_contact_attempts_staff_time", "clinic_id", "staff_id", "ended_at"),
        sa.Index("ix_contact_attempts_task", "task_id", "ended_at"),
        # The reports (recall.queue.funnel, .answer_times): a task's attempts in time order, a range's attempts,
        # a range's callbacks.
        sa.Index("ix_contact_attempts_task_start", "task_id", "started_at", "id"),
        sa.Index("ix_contact_attempts_clinic_start", "clinic_id", "started_at"),
        sa.Index(
            "ix_contact_attempts_callbacks",
            "clinic_id",
            "callback_at",
            sqlite_where=sa.text("outcome = 'callback_requested'"),
            postgresql_where=sa.text("outcome = 'callback_requested'"),
            postgresql_include=["staff_id", "task_id", "next_attempt_at"],  # the report reads the index alone
        ),
    )


# The booking an attempt with the outcome "booked" makes.
BookingDetails = BookingSlot


@dataclass(frozen=True)
class AttemptInput:
    outcome: Outcome
    channel: AttemptChannel = AttemptChannel.PHONE
    duration_seconds: int = 0
    note: str | None = None
    decline_reason: str | None = None
    callback_at: datetime | None = None
    booking: BookingDetails | None = None


@dataclass(frozen=True)
class AttemptResult:
    attempt: ContactAttempt
    task: RecallTask
    booking_id: int | None = None


# The fields an attempt of these outcomes must carry, and no other outcome may.
NEEDS: dict[str, tuple[Outcome, ...]] = {
    "decline_reason": (Outcome.DECLINED,),
    "callback_at": (Outcome.CALLBACK_REQUESTED,),
    "booking": (Outcome.BOOKED, Outcome.RESCHEDULED),
}
# What is said when such a field is missing or out of place, in full: the console looks each up in its catalog.
REQUIRED_MESSAGES: dict[Outcome, str] = {
    Outcome.DECLINED: "is required when the outcome is declined",
    Outcome.CALLBACK_REQUESTED: "is required when the outcome is callback_requested",
    Outcome.BOOKED: "is required when the outcome is booked",
    Outcome.RESCHEDULED: "is required when the outcome is rescheduled",
}
OUT_OF_PLACE_MESSAGES: dict[str, str] = {
    "decline_reason": "only goes with the outcome declined",
    "callback_at": "only goes with the outcome callback_requested",
    "booking": "only goes with the outcome booked or rescheduled",
}


def _check(data: AttemptInput, now: datetime) -> None:
    if not 0 <= data.duration_seconds <= MAX_DURATION_SECONDS:
        raise ValidationError("must be between 0 and 14400 seconds", field="duration_seconds")
    for name, outcomes in NEEDS.items():
        given = getattr(data, name) is not None
        if data.outcome in outcomes and not given:
            raise ValidationError(REQUIRED_MESSAGES[data.outcome], field=name)
        if data.outcome not in outcomes and given:
            raise ValidationError(OUT_OF_PLACE_MESSAGES[name], field=name)
    if data.outcome is Outcome.RESCHEDULED and data.booking is not None:
        for name in ("service_id", "note"):
            if getattr(data.booking, name) is not None:
                raise ValidationError(
                    "a reschedule moves the booking as it is; book a new visit to change it", field=f"booking.{name}"
                )
    if data.decline_reason is not None and not data.decline_reason.strip():
        raise ValidationError("must not be empty", field="decline_reason")
    if data.callback_at is not None:
        if data.callback_at <= now:
            raise ValidationError("must be in the future", field="callback_at")
        if data.callback_at > now + MAX_CALLBACK_AHEAD:
            raise ValidationError("must be within 90 days", field="callback_at")


def log_attempt(session: Session, clock: Clock, actor: Actor, task_id: int, data: AttemptInput) -> AttemptResult:
    """Record one contact attempt on a task the caller holds, and apply its outcome; commits."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    now = clock.now()
    _check(data, now)
    patient, clinic = queue.lock_patient_with_clinic(session, actor, task_id)  # then the task
    task = queue.held_by(session, actor, task_id)
    if data.outcome in SERVICE_OUTCOMES and task.reason not in SERVICE_REASONS:
        raise ValidationError("only ends a reminder call or a patient's request, not win-back work", field="outcome")
    attempt = ContactAttempt(
        clinic_id=clinic.id,
        task_id=task.id,
        patient_id=patient.id,
        staff_id=actor.staff_id,
        channel=data.channel,
        outcome=data.outcome,
        answered=data.outcome in ANSWERED,
        started_at=now - timedelta(seconds=data.duration_seconds),
        ended_at=now,
        duration_seconds=data.duration_seconds,
        note=data.note,
        decline_reason=data.decline_reason,
        callback_at=data.callback_at,
    )
    task.attempt_count += 1
    attempt.next_attempt_at = note_callbacks(session, task, attempt.started_at, data.outcome)
    note_attempt(task, attempt.staff_id, attempt.started_at, attempt.answered)
    booking_id = None
    if data.outcome in RETRY:
        task.failed_attempts += 1
        drop_lease(task)
        if task.failed_attempts >= clinic.recall_max_attempts:
            close_task(
                task, status=TaskStatus.CLOSED, reason=CloseReason.UNREACHABLE, now=now, by_staff_id=actor.staff_id
            )
        else:
            set_due(task, now + timedelta(minutes=clinic.backoff_after(task.failed_attempts)))
            task.reserved_for_id = task.reserved_until = None
    elif data.outcome is Outcome.DECLINED:
        task.decline_reason = data.decline_reason
        close_task(task, status=TaskStatus.CLOSED, reason=CloseReason.DECLINED, now=now, by_staff_id=actor.staff_id)
    elif data.outcome is Outcome.WRONG_NUMBER:
        patient.phone_invalid, patient.updated_at = True, now
        task.status = TaskStatus.PARKED
        drop_lease(task)
    elif data.outcome is Outcome.CALLBACK_REQUESTED:
        assert data.callback_at is not None
        if not in_calling_hours(clinic, patient.timezone, data.callback_at):
            raise ValidationError("is outside the patient's calling hours", field="callback_at")
        set_due(task, data.callback_at)
        task.reserved_for_id = actor.staff_id
        task.reserved_until = data.callback_at + timedelta(minutes=clinic.recall_callback_hold_minutes)
        drop_lease(task)
    elif data.outcome is Outcome.OPTED_OUT:
        opt_out(session, patient, now, actor.staff_id)
    elif data.outcome in SERVICE_OUTCOMES:
        booking_id = _serve(session, clock, actor, task, data)
        attempt.booking_id = booking_id
        close_task(
            task,
            status=TaskStatus.CLOSED,
            reason=SERVICE_OUTCOMES[data.outcome],
            now=now,
            by_staff_id=actor.staff_id,
            booking_id=booking_id,
        )
    else:
        assert data.booking is not None
        channel = Channel(data.channel.value)
        provider_id, service_id = data.booking.provider_id, data.booking.service_id
        if provider_id is None and service_id is None:
            # Named neither: the task's suggestion, as a checkout's booking takes the visit's.
            provider_id, service_id = task.provider_id, task.service_id
        try:
            booking = bookings.book(
                session,
                clock,
                actor,
                BookingRequest(
                    patient_id=patient.id,
                    start_at=data.booking.start_at,
                    end_at=data.booking.end_at,
                    channel=channel,
                    provider_id=provider_id,
                    service_id=service_id,
                    source=Source.RECALL_TASK,
                    recall_task_id=task.id,
                    note=data.booking.note,
                ),
            )
        except RecallError as exc:
            # The booking's fields sit under "booking" in an attempt.
            exc.fields = {f"booking.{name}": msgs for name, msgs in exc.fields.items()}
            raise
        attempt.booking_id = booking_id = booking.id
    session.add(attempt)
    session.flush()
    announce.attempt(session, attempt, now)
    session.commit()
    return AttemptResult(attempt, task, booking_id)


def note_callbacks(session: Session, task: RecallTask, started_at: datetime, outcome: Outcome) -> datetime | None:
    """Keep each callback request's ``next_attempt_at`` as an attempt starting at ``started_at`` is logged.

    Call it before ``note_attempt`` folds the attempt into the task: the task's latest start tells whether the
    attempt is logged in time order. The new attempt is after every earlier-logged one that started at or
    before it (a tie goes to the later-logged), so it answers those callbacks, or answers them earlier. In
    time order (nearly always), only an unanswered request can be affected, and the task says whether it
    has one: no statement at all otherwise. Returns the new attempt's own ``next_attempt_at`` when it is a
    callback request logged after attempts that started later.
    """
    a, callback = ContactAttempt, outcome is Outcome.CALLBACK_REQUESTED
    in_order = task.last_attempt_at is None or started_at >= task.last_attempt_at
    if task.callback_unanswered or not in_order:
        session.execute(
            sa.update(a)
            .where(
                a.task_id == task.id,
                a.outcome == Outcome.CALLBACK_REQUESTED,
                a.started_at <= started_at,
                sa.or_(a.next_attempt_at.is_(None), a.next_attempt_at > started_at),
            )
            .values(next_attempt_at=started_at)
            .execution_options(synchronize_session=False)
        )
    if in_order:
        task.callback_unanswered = callback  # every earlier request started at or before it: all are answered
        return None
    own = None
    if callback:
        later = sa.select(sa.func.min(a.started_at)).where(a.task_id == task.id, a.started_at > started_at)
        own = session.scalar(later)
    waiting = sa.select(a.id).where(
        a.task_id == task.id, a.outcome == Outcome.CALLBACK_REQUESTED, a.next_attempt_at.is_(None)
    )
    task.callback_unanswered = session.scalar(sa.select(waiting.exists())) or (callback and own is None)
    return own


def _serve(session: Session, clock: Clock, actor: Actor, task: RecallTask, data: AttemptInput) -> int | None:
    """Act on the booking a service call is about (the caller commits); returns its id."""
    booking_id = task.origin_booking_id
    if data.outcome is Outcome.RESOLVED:
        return booking_id
    if booking_id is None:
        raise Conflict("this request is about no booking; there is nothing to confirm, cancel or move", field="outcome")
    current = get_booking(session, actor.clinic_id, booking_id)
    if current.status not in ACTIVE or current.start_at <= clock.now():
        state = current.status.value + ("" if current.status not in ACTIVE else " and has begun")
        raise Conflict(
            f"the booking can no longer be confirmed, cancelled or moved (booking {booking_id} is {state})",
            field="outcome",
        )
    try:
        if data.outcome is Outcome.CONFIRMED:
            if current.status is not BookingStatus.CONFIRMED:
                bookings.confirm(session, clock, actor, booking_id)
        elif data.outcome is Outcome.CANCELLED:
            booking_outcomes.cancel(session, clock, actor, booking_id, "patient cancelled on a reminder call")
        else:
            assert data.booking is not None
            bookings.move(
                session,
                clock,
                actor,
                booking_id,
                start_at=data.booking.start_at,
                end_at=data.booking.end_at,
                provider_id=data.booking.provider_id,
            )
    except RecallError as exc:
        exc.fields = {f"booking.{name}": msgs for name, msgs in exc.fields.items()}
        raise
    return booking_id


def list_attempts(
    clinic_id: int,
    *,
    task_id: int | None = None,
    staff_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> sa.Select[ContactAttempt]:
    stmt = sa.select(ContactAttempt).where(ContactAttempt.clinic_id == clinic_id)
    if task_id is not None:
        stmt = stmt.where(ContactAttempt.task_id == task_id)
    if staff_id is not None:
        stmt = stmt.where(ContactAttempt.staff_id == staff_id)
    if since is not None:
        stmt = stmt.where(ContactAttempt.ended_at >= since)
    if until is not None:
        stmt = stmt.where(ContactAttempt.ended_at < until)
    return stmt.order_by(ContactAttempt.ended_at, ContactAttempt.id)
