"""Reminders: a booking's planned SMS, voice calls and human calls, and what became of each.

Planning happens in the booking's own transaction: making, moving, confirming or
cancelling a booking re-plans or cancels its waiting reminders before the same
COMMIT, so a worker can never pick up a reminder of a booking that no longer
exists as planned. A policy change re-plans every future booking of the clinic.

A reminder's life: ``planned`` -> ``sending`` (claimed by a worker under a lease,
committed before Twilio is called) -> ``sent`` (Twilio took it; its SID is
unique) -> ``delivered`` or ``failed`` (status callbacks). A transient failure
puts it back to ``planned`` with a later ``due_at``. ``unknown`` is the request
that may have gone out (a read timeout, or a worker that died mid-send): it is
never sent again blindly; a late status callback, which carries the reminder's
id, resolves it. Human-call steps are ``handed_over``: an operator's task or an
item on the front desk's list.

A surge changes the human calls of routine steps: planned during one, they are
planned as automated calls; planned before it began, they are moved when they
fall due (``hand_over``), the one moment every human call passes through,
whether a step, a fallback of the sender or of a status callback. A moved
reminder says why (``moved_reason`` "surge", ``planned_channel``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.queue.surge import surge_status
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus, open_task
from recall.reminders import holdout
from recall.reminders.planning import (
    DEFAULT_POLICY,
    HUMAN,
    Channel,
    Fallback,
    PolicyDoc,
    Step,
    automated,
    plan_steps,
)
from recall.reminders.policy_versions import current_policy, get_version
from recall.visits.booking import ACTIVE, Booking, BookingStatus


class CallOutcome(str, enum.Enum):
    """How a human reminder call by the front desk went (an operator's call is a recall task's attempt)."""

    CONFIRMED = "confirmed"  # the patient confirmed: the booking is confirmed
    CANCELLED = "cancelled"  # the patient cancelled: the booking is cancelled
    RESCHEDULED = "rescheduled"  # the booking was moved to a time the patient asked for
    REACHED = "reached"  # reminded; the booking stands as it was
    NO_ANSWER = "no_answer"  # these three keep the call on the list, to try again
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"  # the patient's phone is flagged invalid
    OPTED_OUT = "opted_out"  # the patient asked not to be contacted again
    SUPERSEDED = "superseded"  # a newer call about the same booking replaced it (the booking moved)


RETRY_CALL = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL})


class ReminderStatus(str, enum.Enum):
    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    HANDED_OVER = "handed_over"


# Not sent yet: cancelling marks these, and a worker about to send re-reads the status under a lock first.
WAITING = (ReminderStatus.PLANNED, ReminderStatus.SENDING)
# The channel a patient must have consented to for each step.
CONSENT = {
    Channel.SMS: "consent_sms",
    Channel.VOICE: "consent_voice",
    Channel.OPERATOR_CALL: "consent_call",
    Channel.FRONTDESK_CALL: "consent_call",
}
# The channels that dial the patient's number themselves: a number known to be wrong rules them out.
DIALLED = (Channel.SMS, Channel.VOICE)


def why_not_contact(patient: Patient, channel: Channel) -> str | None:
    """Why the patient may not be contacted on ``channel`` ("no_consent", "invalid_phone"), or None if they may."""
    if not getattr(patient, CONSENT[channel]):
        return "no_consent"
    if patient.phone_invalid and channel in DIALLED:
        return "invalid_phone"
    return None


def may_contact(patient: Patient, channel: Channel) -> bool:
    """Whether the patient may be contacted on ``channel``: they consented to it, and a message or an automated
    call has a number that is not known to be wrong."""
    return why_not_contact(patient, channel) is None


# The reminders whose lost send still waits for its recovery (``dispatch.Dispatcher.recover``).
RECOVERY_WAITING = "status = 'unknown' AND outcome = 'worker_lost' AND (recovery IS NULL OR recovery = 'checking')"


class Reminder(Base):
    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    policy_version: Mapped[int] = mapped_column()
    step_index: Mapped[int] = mapped_column()
    offset_minutes: Mapped[int] = mapped_column()
    channel: Mapped[Channel] = mapped_column(enum_column_type(Channel, "reminder_channel"))
    fallback: Mapped[Fallback] = mapped_column(enum_column_type(Fallback, "reminder_fallback"))
    fallback_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reminders.id"))
    status: Mapped[ReminderStatus] = mapped_column(enum_column_type(ReminderStatus, "reminder_status"))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())  # as planned
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when a worker may take it (later after a retry)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last claim (recovery looks since)
    # The one recovery of a send whose worker was lost: checking (asking Twilio), found (it went out), resent
    # (it had not: sent again, once), missed (it had not, and it no longer makes sense).
    recovery: Mapped[str | None] = mapped_column(sa.String(20))
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(sa.String(20))
    error_code: Mapped[int | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(sa.String(40))  # why it ended: skipped, failed, cancelled, answered
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recall_tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A front-desk call on the desk's list: the last try, by whom, and when it was done (handled_at).
    call_outcome: Mapped[CallOutcome | None] = mapped_column(enum_column_type(CallOutcome, "reminder_call_outcome"))
    call_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    call_note: Mapped[str | None] = mapped_column(sa.String(1000))  # staff's words: never logged
    called_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it does not go out as the policy planned it: "surge" (a routine human call moved to ``channel``, an
    # automated one; ``planned_channel`` says which it was) or "outside_calling_hours" (due when the patient's
    # hours were closed, it waits for them to open: ``due_at``). Kept after it went out, for staff to read.
    moved_reason: Mapped[str | None] = mapped_column(sa.String(40))
    planned_channel: Mapped[Channel | None] = mapped_column(enum_column_type(Channel, "reminder_planned_channel"))

    __table_args__ = (
        sa.Index("ix_reminders_due", "status", "due_at"),
        sa.Index("ix_reminders_clinic_send", "clinic_id", "send_at"),
        sa.Index("ix_reminders_calls", "clinic_id", "channel", "status", "handled_at"),
        sa.Index("ix_reminders_booking", "booking_id", "status"),
        sa.Index("ix_reminders_patient", "patient_id", "status"),
        sa.Index(
            "ix_reminders_recovery",
            "lease_expires_at",
            sqlite_where=sa.text(RECOVERY_WAITING),
            postgresql_where=sa.text(RECOVERY_WAITING),
        ),
        # One waiting reminder per step and channel of a booking: re-planning twice cannot double it.
        sa.Index(
            "uq_reminders_live_step",
            "booking_id",
            "offset_minutes",
            "channel",
            unique=True,
            sqlite_where=sa.text("status = 'planned'"),
            postgresql_where=sa.text("status = 'planned'"),
        ),
    )


# The table's, not the entity's: an ORM bulk insert would read every id back.
_INSERT_REMINDER = sa.insert(cast(sa.Table, Reminder.__table__))


def cancel_waiting(
    session: Session,
    now: datetime,
    *,
    booking_id: int | None = None,
    booking_ids: Sequence[int] | None = None,
    patient_id: int | None = None,
    reason: str,
) -> int:
    """Cancel a booking's (or several bookings', or a patient's) reminders that have not gone out; the caller
    commits."""
    stmt = sa.update(Reminder).where(Reminder.status.in_(WAITING))
    if booking_id is not None:
        stmt = stmt.where(Reminder.booking_id == booking_id)
    if booking_ids is not None:
        stmt = stmt.where(Reminder.booking_id.in_(booking_ids))
    if patient_id is not None:
        stmt = stmt.where(Reminder.patient_id == patient_id)
    # An UPDATE answers with a cursor result, which counts the rows it matched.
    result = cast(
        "sa.CursorResult[Any]",
        session.execute(
            stmt.values(status=ReminderStatus.CANCELLED, outcome=reason, updated_at=now).execution_options(
                synchronize_session=False
            )
        ),
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class Planning:
    """What planning needs once per clinic, whatever the booking: the policy in force and whether a surge is on."""

    clinic: Clinic
    version: int
    doc: PolicyDoc
    surge: bool


def planning_for(session: Session, clinic: Clinic, now: datetime) -> Planning:
    version, doc = current_policy(session, clinic.id)
    return Planning(clinic, version, doc, surge_status(session, clinic, now).active)


def plan_booking(
    session: Session, booking: Booking, now: datetime, *, reason: str = "replanned", new: bool = False
) -> int:
    """(Re-)plan a booking's reminders by the clinic's current policy, inside the caller's transaction; returns
    how many reminders it wrote.

    Waiting reminders are cancelled first; a booking that is no longer active, or whose patient
    opted out, gets none. Steps that cannot run are recorded as skipped only at the first planning,
    so a re-plan does not pile up rows for steps that already went out. ``new``: the caller has just made the
    booking, so it has no reminders to look for.
    """
    b = booking
    first = new or session.scalar(sa.select(Reminder.id).where(Reminder.booking_id == b.id).limit(1)) is None
    if not first:  # a new booking has nothing to cancel
        cancel_waiting(session, now, booking_id=b.id, reason=reason)
    if b.status not in ACTIVE:
        return 0
    patient = session.get(Patient, b.patient_id)
    clinic = session.get(Clinic, b.clinic_id)
    assert patient is not None and clinic is not None
    return insert_reminders(session, plan_with(planning_for(session, clinic, now), b, patient, now, first=first))


def insert_reminders(session: Session, rows: list[dict[str, Any]]) -> int:
    """Write planned reminders in one statement, run once per row (``executemany``): the same short INSERT each
    time, so the driver parses it once per process; nothing reads the rows back inside the planning request."""
    if rows:
        session.execute(_INSERT_REMINDER, rows)
    return len(rows)


def plan_with(
    planning: Planning, booking: Booking, patient: Patient, now: datetime, *, first: bool
) -> list[dict[str, Any]]:
    """The reminder rows an active booking whose waiting ones are already cancelled is to get (``plan_booking``,
    or a batch of them: ``recall.reminders.replans``), for ``insert_reminders``. ``first``: it never had any."""
    b, clinic = booking, planning.clinic
    if first:
        holdout.assign(clinic, b)
    if patient.opted_out:
        return []
    steps = plan_steps(
        planning.doc,
        start_at=b.start_at,
        now=now,
        zone=patient.timezone or clinic.timezone,
        service_id=b.service_id,
        provider_id=b.provider_id,
        confirmed=b.status == BookingStatus.CONFIRMED,
        surge=planning.surge,
    )
    rows = []
    for step in steps:
        skipped = (
            holdout.why_not_planned(clinic, b, step.channel)
            or step.skipped_reason
            or why_not_contact(patient, step.channel)
        )
        if skipped is not None and not first:
            continue
        rows.append(
            {
                "clinic_id": clinic.id,
                "booking_id": b.id,
                "patient_id": patient.id,
                "policy_version": planning.version,
                "step_index": step.step_index,
                "offset_minutes": step.offset_minutes,
                "channel": step.channel,
                "fallback": step.fallback,
                "status": ReminderStatus.SKIPPED if skipped else ReminderStatus.PLANNED,
                "outcome": skipped,
                "send_at": step.send_at,
                "due_at": step.send_at,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
                "planned_channel": step.automated_from,
                "moved_reason": SURGE if step.automated_from else None,
            }
        )
    return rows


def list_reminders(
    clinic_id: int,
    *,
    booking_id: int | None = None,
    status: ReminderStatus | None = None,
    channel: Channel | None = None,
    due_before: datetime | None = None,
) -> sa.Select[Reminder]:
    stmt = sa.select(Reminder).where(Reminder.clinic_id == clinic_id)
    if booking_id is not None:
        stmt = stmt.where(Reminder.booking_id == booking_id)
    if status is not None:
        stmt = stmt.where(Reminder.status == status)
    if channel is not None:
        stmt = stmt.where(Reminder.channel == channel)
    if due_before is not None:
        stmt = stmt.where(Reminder.due_at <= due_before)
    return stmt.order_by(Reminder.send_at, Reminder.id)


def step_of(session: Session, reminder: Reminder) -> Step | None:
    """The policy step that planned ``reminder`` (a fallback: the step it stands in for), by the version that
    planned it and the booking's service and provider; None if that step is not there (read it as not routine)."""
    booking = session.get(Booking, reminder.booking_id)
    if booking is None:
        return None
    doc = (
        DEFAULT_POLICY
        if reminder.policy_version == 0
        else get_version(session, reminder.clinic_id, reminder.policy_version).doc
    )
    steps = doc.steps_for(booking.service_id, booking.provider_id)
    return next((s for s in steps if s.offset_minutes == reminder.offset_minutes), None)


SURGE = "surge"


def automate_in_surge(session: Session, reminder: Reminder, now: datetime) -> bool:
    """A routine human call falling due in a surge goes out as an automated call instead, as the surge plan says:
    the reminder becomes that call, due now, and says why. False (hand it over as planned) when its step is not
    routine, there is no surge, or the patient cannot be reached that way (no consent, a wrong number)."""
    step = step_of(session, reminder)
    if step is None or not step.routine or reminder.channel not in HUMAN:
        return False
    if holdout.is_held_out(session.get(Booking, reminder.booking_id)):  # its human call stays human
        return False
    clinic = session.get(Clinic, reminder.clinic_id)
    patient = session.get(Patient, reminder.patient_id)
    assert clinic is not None and patient is not None
    channel, fallback = automated(Step(reminder.offset_minutes, reminder.channel, fallback=reminder.fallback))
    original = session.get(Reminder, reminder.fallback_of_id) if reminder.fallback_of_id else None
    if original is not None and original.channel is channel:  # it stands in for that call: never the same again
        channel, fallback = Channel.SMS, Fallback.NONE
    if not may_contact(patient, channel):  # an automated channel: consent and a number not known to be wrong
        return False
    if session.scalar(
        sa.select(Reminder.id).where(  # that call is already waiting for this step
            Reminder.booking_id == reminder.booking_id,
            Reminder.offset_minutes == reminder.offset_minutes,
            Reminder.channel == channel,
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.id != reminder.id,
        )
    ):
        return False
    if not surge_status(session, clinic, now).active:
        return False
    reminder.planned_channel, reminder.moved_reason = reminder.channel, SURGE
    reminder.channel, reminder.fallback, reminder.status = channel, fallback, ReminderStatus.PLANNED
    reminder.due_at, reminder.updated_at, reminder.attempts = now, now, 0
    reminder.claimed_by, reminder.lease_expires_at = None, None
    session.flush()
    return True


def hand_over(session: Session, reminder: Reminder, now: datetime) -> str:
    """A human-call step is due: an operator's task in the recall queue, or a call on the front desk's list;
    in a surge, a routine one becomes an automated call instead (``automate_in_surge``). Returns which.

    One call per booking waits at a time: an operator's open reminder-call task about the booking takes
    this step too, and a new call on the desk's list replaces one still waiting there (the booking moved).
    """
    if automate_in_surge(session, reminder, now):
        return "automated"

    if reminder.channel is Channel.OPERATOR_CALL:
        booking = session.get(Booking, reminder.booking_id)
        clinic = session.get(Clinic, reminder.clinic_id)
        assert booking is not None and clinic is not None
        task = session.scalar(
            sa.select(RecallTask)
            .where(
                RecallTask.origin_booking_id == booking.id,
                RecallTask.reason == TaskReason.REMINDER_CALL,
                RecallTask.status.in_((TaskStatus.OPEN, TaskStatus.PARKED)),
            )
            .limit(1)
        )
        if task is None:
            task = open_task(
                session,
                clinic=clinic,
                patient_id=reminder.patient_id,
                reason=TaskReason.REMINDER_CALL,
                due_at=now,
                now=now,
                follow_up_date=None,
                service_id=booking.service_id,
                provider_id=booking.provider_id,
                origin_booking_id=booking.id,
            )
        reminder.task_id = task.id
    else:
        session.execute(
            sa.update(Reminder)
            .where(
                Reminder.booking_id == reminder.booking_id,
                Reminder.channel == Channel.FRONTDESK_CALL,
                Reminder.status == ReminderStatus.HANDED_OVER,
                Reminder.handled_at.is_(None),
                Reminder.id != reminder.id,
            )
            .values(handled_at=now, call_outcome=CallOutcome.SUPERSEDED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    reminder.status, reminder.outcome, reminder.updated_at = ReminderStatus.HANDED_OVER, "handed_over", now
    return "handed_over"


def fall_back(session: Session, reminder: Reminder, now: datetime) -> Reminder | None:
    """A reminder failed for good: the policy's fallback step, due now, unless the visit is over or gone."""
    if reminder.fallback is Fallback.NONE:
        return None
    booking = session.get(Booking, reminder.booking_id)
    patient = session.get(Patient, reminder.patient_id)
    if booking is None or patient is None or booking.status not in ACTIVE:
        return None
    if booking.start_at <= now or patient.opted_out:
        return None
    channel = Channel(reminder.fallback.value)
    if channel in DIALLED and not may_contact(patient, channel):
        return None
    backup = Reminder(
        clinic_id=reminder.clinic_id,
        booking_id=reminder.booking_id,
        patient_id=reminder.patient_id,
        policy_version=reminder.policy_version,
        step_index=reminder.step_index,
        offset_minutes=reminder.offset_minutes,
        channel=channel,
        fallback=Fallback.NONE,
        fallback_of_id=reminder.id,
        status=ReminderStatus.PLANNED,
        send_at=now,
        due_at=now,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(backup)
    session.flush()
    return backup
