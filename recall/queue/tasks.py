"""Recall tasks: the operators' work of winning back a patient who left without a follow-up.

A task is due when the follow-up should happen (the recommended date), never
before the clinic's cooling-off delay has passed. At most one task per visit is
open at a time: a partial unique index makes a duplicate impossible.

One patient, one operator: every lease on a patient's tasks names the holder of the
patient's one ``patient_claims`` row (a foreign key from the lease to that row, whose key
is the patient), so the database itself cannot hold two operators' leases on one patient.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from recall.clinic.catalog import Service
from recall.clinic.clinics import Clinic
from recall.common.db import Base, UTCDateTime, by_id_in_clinic, enum_column_type
from recall.common.errors import NotFound
from recall.events import announce
from recall.events.types import EventType


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    WON = "won"  # a booking was made from the task
    CLOSED = "closed"  # ended without a win from the queue; see close_reason
    PARKED = "parked"  # waiting for the patient's wrong phone number to be corrected


class TaskReason(str, enum.Enum):
    DECLINED = "declined"
    UNDECIDED = "undecided"
    BOOKING_CANCELLED = "booking_cancelled"
    NO_SHOW = "no_show"
    REMINDER_CALL = "reminder_call"  # the reminder policy wants a human to call about a booking
    PATIENT_REQUEST = "patient_request"  # the patient asked for someone (a key press, or an SMS reply to read)


# Service work about a booking the patient already has (a reminder call, an answer to their request), as
# opposed to winning back a patient who left without one. It is time-critical (the visit is coming), so it
# goes before every win-back task; it is not closed because the patient has a future booking (that booking
# is what it is about) but when that booking is over; and a booking made from it is not a win-back.
SERVICE_REASONS = frozenset({TaskReason.REMINDER_CALL, TaskReason.PATIENT_REQUEST})


class CloseReason(str, enum.Enum):
    BOOKED = "booked"  # won: a booking from the queue
    BOOKED_AT_DESK = "booked_at_desk"  # the front desk booked after all (a corrected checkout)
    NOT_NEEDED = "not_needed"  # the checkout was corrected to "no follow-up needed"
    DECLINED = "declined"  # the patient said no on the phone; decline_reason says why
    UNREACHABLE = "unreachable"  # the clinic's attempt limit ran out without an answer
    OPTED_OUT = "opted_out"  # the patient asked not to be contacted again
    BOOKED_ELSEWHERE = "booked_elsewhere"  # won: the patient booked another way after the task opened
    ALREADY_BOOKED = "already_booked"  # obsolete: the patient had a future booking before the task opened
    # Service tasks (SERVICE_REASONS):
    CONFIRMED = "confirmed"  # the patient confirmed the booking on the call
    CANCELLED = "cancelled"  # the patient cancelled the booking on the call
    RESCHEDULED = "rescheduled"  # the booking was moved to a time the patient asked for
    RESOLVED = "resolved"  # the patient was reached and helped; the booking stands as it was
    BOOKING_OVER = "booking_over"  # the booking it was about was cancelled, attended or missed, or has begun


OPEN = TaskStatus.OPEN.value
# Each point of a service's value weight above 1 counts as one more day overdue in the queue's order.
WEIGHT_HEAD_START = timedelta(days=1)
# Service tasks rank as if this much overdue: ahead of any win-back work, in the order they fell due.
SERVICE_HEAD_START = timedelta(days=3650)
MIN_WEIGHT, MAX_WEIGHT = 0.1, 10.0


class PatientClaim(Base):
    """Who holds a patient's recall work. One row per patient, ever claimed; ``holder_id`` is the last claimer.

    It holds nothing by itself: the patient is held while a task of theirs has a live lease, and every lease
    (live or lapsed) must name this row's holder. A claim that takes the patient over from another holder
    clears that holder's lapsed leases in the same transaction (the key is checked at commit)."""

    __tablename__ = "patient_claims"

    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), primary_key=True)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # What the leases' foreign key points at: (patient, holder) names exactly this row.
        sa.UniqueConstraint("patient_id", "holder_id", name="uq_patient_claims_patient_holder"),
        sa.Index("ix_patient_claims_holder", "holder_id"),
    )


class RecallTask(Base):
    __tablename__ = "recall_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    # The suggestion; the booking that wins the task may differ.
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"))
    origin_visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    origin_booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"))
    reason: Mapped[TaskReason] = mapped_column(enum_column_type(TaskReason, "recall_task_reason"))
    status: Mapped[TaskStatus] = mapped_column(enum_column_type(TaskStatus, "recall_task_status"))
    follow_up_date: Mapped[date | None] = mapped_column(sa.Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    close_reason: Mapped[CloseReason | None] = mapped_column(enum_column_type(CloseReason, "recall_close_reason"))
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"))
    decline_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # What the patient wrote back to a reminder, for the operator who calls them (never logged).
    request_text: Mapped[str | None] = mapped_column(sa.String(1600))
    # The queue: the order key, the lease an operator holds, and a callback reserved for one operator.
    value_weight: Mapped[float] = mapped_column(sa.Float, default=1.0)
    rank_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_count: Mapped[int] = mapped_column(default=0)
    failed_attempts: Mapped[int] = mapped_column(default=0)  # no answer, busy, voicemail
    reserved_for_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What its attempts did, kept as each is logged (``note_attempt``) so the reports read the task alone: the
    # first attempt's start and operator, the first answered attempt's start, the latest attempt's.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_attempt_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    # A callback request of the task waits for its next attempt (``recall.queue.attempts.note_callbacks``).
    callback_unanswered: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (
        sa.Index(
            "uq_recall_tasks_open_visit",
            "origin_visit_id",
            unique=True,
            sqlite_where=sa.text(f"status = '{OPEN}'"),
            postgresql_where=sa.text(f"status = '{OPEN}'"),
        ),
        sa.Index("ix_recall_tasks_queue", "clinic_id", "status", "due_at"),
        sa.Index("ix_recall_tasks_rank", "clinic_id", "status", "rank_at", "id"),
        sa.Index("ix_recall_tasks_reserved", "reserved_for_id", "status"),
        sa.Index("ix_recall_tasks_lease_holder", "lease_holder_id"),
        sa.Index("ix_recall_tasks_closed", "clinic_id", "closed_at"),
        sa.Index("ix_recall_tasks_created", "clinic_id", "created_at"),
        sa.Index("ix_recall_tasks_first_attempt", "clinic_id", "first_attempt_at"),
        sa.Index("ix_recall_tasks_patient", "patient_id", "status"),
        # The claim's "no other live lease on this patient": a range over the few leased rows, not the queue.
        sa.Index(
            "ix_recall_tasks_live_lease",
            "lease_expires_at",
            "patient_id",
            sqlite_where=sa.text("lease_holder_id IS NOT NULL"),
            postgresql_where=sa.text("lease_holder_id IS NOT NULL"),
        ),
        # A lease names the patient's claim holder: no two operators hold one patient's tasks.
        sa.ForeignKeyConstraint(
            ["patient_id", "lease_holder_id"],
            ["patient_claims.patient_id", "patient_claims.holder_id"],
            name="fk_recall_tasks_lease_patient_claims",
            deferrable=True,
            initially="DEFERRED",
        ),
    )


def set_due(task: RecallTask, due_at: datetime) -> None:
    """Move the task's due time, and with it its place in the queue."""
    task.due_at = due_at
    if task.reason in SERVICE_REASONS:
        task.rank_at = due_at - SERVICE_HEAD_START
    else:
        task.rank_at = due_at - WEIGHT_HEAD_START * (task.value_weight - 1.0)


def drop_lease(task: RecallTask) -> None:
    task.lease_holder_id = None
    task.lease_expires_at = None


def reweigh_open_tasks(session: Session, service_id: int, weight: float) -> None:
    """A manager changed a service's value: its waiting tasks take their new place in the queue."""
    tasks = session.scalars(
        sa.select(RecallTask).where(
            RecallTask.service_id == service_id, RecallTask.status.in_((TaskStatus.OPEN, TaskStatus.PARKED))
        )
    )
    for task in tasks:
        task.value_weight = weight
        set_due(task, task.due_at)


def due_at_for(clinic: Clinic, follow_up_date: date | None, now: datetime) -> datetime:
    """When a new task becomes due: the recommended day's first calling minute, after cooling-off."""
    earliest = now + timedelta(hours=clinic.recall_cooling_off_hours)
    if follow_up_date is None:
        return earliest
    return max(clinic.first_calling_minute(follow_up_date), earliest)


def open_task(
    session: Session,
    *,
    clinic: Clinic,
    patient_id: int,
    reason: TaskReason,
    due_at: datetime,
    now: datetime,
    follow_up_date: date | None,
    service_id: int | None,
    provider_id: int | None,
    origin_visit_id: int | None = None,
    origin_booking_id: int | None = None,
) -> RecallTask:
    """Add an open task to the caller's transaction (the caller commits)."""
    # The service is most often already in the session (a checkout read it): then no statement at all.
    service = session.get(Service, service_id) if service_id else None
    weight = service.value_weight if service is not None else None
    task = RecallTask(
        clinic_id=clinic.id,
        patient_id=patient_id,
        service_id=service_id,
        provider_id=provider_id,
        origin_visit_id=origin_visit_id,
        origin_booking_id=origin_booking_id,
        reason=reason,
        status=TaskStatus.OPEN,
        follow_up_date=follow_up_date,
        created_at=now,
        value_weight=weight or 1.0,
        attempt_count=0,
        failed_attempts=0,
    )
    set_due(task, due_at)
    session.add(task)
    session.flush()
    announce.task(session, EventType.RECALL_TASK_OPENED, task, now)
    return task


def close_task(
    task: RecallTask,
    *,
    status: TaskStatus,
    reason: CloseReason,
    now: datetime,
    by_staff_id: int | None,
    booking_id: int | None = None,
) -> None:
    task.status = status
    task.close_reason = reason
    task.closed_at = now
    task.closed_by_id = by_staff_id
    task.booking_id = booking_id
    drop_lease(task)
    task.reserved_for_id = task.reserved_until = None
    session = object_session(task)
    if session is not None:  # always: a task is closed where it was read
        announce.task(session, EventType.RECALL_TASK_CLOSED, task, now)


_TASK, _TASK_FOR_UPDATE = by_id_in_clinic(RecallTask)


def get_task(session: Session, clinic_id: int, task_id: int, *, for_update: bool = False) -> RecallTask:
    task = session.scalar(_TASK_FOR_UPDATE if for_update else _TASK, {"id": task_id, "clinic": clinic_id})
    if task is None:
        raise NotFound("recall task", task_id)
    return task


def open_task_for_visit(session: Session, visit_id: int) -> RecallTask | None:
    return session.scalar(
        sa.select(RecallTask).where(RecallTask.origin_visit_id == visit_id, RecallTask.status == TaskStatus.OPEN)
    )


def list_tasks(
    clinic_id: int,
    *,
    status: TaskStatus | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    patient_id: int | None = None,
    service_id: int | None = None,
    assignee_id: int | None = None,
    leased: bool | None = None,
    now: datetime | None = None,
) -> sa.Select[RecallTask]:
    stmt = sa.select(RecallTask).where(RecallTask.clinic_id == clinic_id).order_by(RecallTask.due_at, RecallTask.id)
    if status is not None:
        stmt = stmt.where(RecallTask.status == status)
    if due_from is not None:
        stmt = stmt.where(RecallTask.due_at >= due_from)
    if due_to is not None:
        stmt = stmt.where(RecallTask.due_at < due_to)
    if patient_id is not None:
        stmt = stmt.where(RecallTask.patient_id == patient_id)
    if service_id is not None:
        stmt = stmt.where(RecallTask.service_id == service_id)
    if assignee_id is not None:
        stmt = stmt.where(sa.or_(RecallTask.lease_holder_id == assignee_id, RecallTask.reserved_for_id == assignee_id))
    if leased is not None and now is not None:
        held = sa.and_(RecallTask.lease_holder_id.is_not(None), RecallTask.lease_expires_at > now)
        stmt = stmt.where(held if leased else sa.not_(held))
    return stmt


def close_for_opt_out(session: Session, patient_id: int, now: datetime, by_staff_id: int | None) -> int:
    """The patient asked not to be contacted: every waiting task of theirs ends. Returns how many."""
    tasks = session.scalars(
        sa.select(RecallTask).where(
            RecallTask.patient_id == patient_id, RecallTask.status.in_((TaskStatus.OPEN, TaskStatus.PARKED))
        )
    ).all()
    for task in tasks:
        close_task(task, status=TaskStatus.CLOSED, reason=CloseReason.OPTED_OUT, now=now, by_staff_id=by_staff_id)
    return len(tasks)


def close_service_tasks(session: Session, booking_id: int, now: datetime) -> int:
    """The booking is over (cancelled, attended, missed): calls about it are no longer needed. Returns how many."""
    tasks = session.scalars(
        sa.select(RecallTask).where(
            RecallTask.origin_booking_id == booking_id,
            RecallTask.reason.in_(SERVICE_REASONS),
            RecallTask.status.in_((TaskStatus.OPEN, TaskStatus.PARKED)),
        )
    ).all()
    for task in tasks:
        close_task(task, status=TaskStatus.CLOSED, reason=CloseReason.BOOKING_OVER, now=now, by_staff_id=None)
    return len(tasks)


def unpark(session: Session, patient_id: int, now: datetime) -> int:
    """The patient's number was corrected: tasks parked on a wrong number are due again at once."""
    tasks = session.scalars(
        sa.select(RecallTask).where(RecallTask.patient_id == patient_id, RecallTask.status == TaskStatus.PARKED)
    ).all()
    for task in tasks:
        task.status = TaskStatus.OPEN
        set_due(task, max(task.due_at, now))
    return len(tasks)
