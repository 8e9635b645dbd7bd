"""The recall queue: who gets which task next, as a committed lease.

The database decides who does the work. On PostgreSQL the next task is picked
with ``FOR UPDATE SKIP LOCKED``, so claimers never wait on each other; on SQLite
the claim runs inside ``BEGIN IMMEDIATE`` (one writer at a time) and the lease is
taken by a conditional ``UPDATE ... WHERE <still free> ... RETURNING``. Either
way the lease is committed before the operator sees the task: no row lock is
held while a person works, and a lease nobody renews lapses by itself.

Order: callbacks now due that are reserved for the caller, then due tasks by
rank (due time moved earlier by a day per point of the service's value weight
above 1). Service calls about a booking the patient has (a reminder call, a
patient's request) rank ahead of all win-back work: the visit will not wait. In a
surge the order is service calls first, then strictly value weight x overdue age.

One patient, one operator: a claim hands out a patient, not a task. It leases every open
task of that patient the caller may work (due, not a callback reserved for someone else) in
one conditional UPDATE, after taking the patient's ``patient_claims`` row with a conditional
upsert that only succeeds while no task of the patient is under another operator's live
lease. Every lease must name that row's holder (a foreign key, checked at commit), so two
operators holding one patient's tasks is impossible, not just unlikely. On PostgreSQL the
candidate's patient row is locked too (``FOR NO KEY UPDATE ... SKIP LOCKED``), so two
claimers never even try the same patient at once. Renewing or releasing a lease covers all
the caller's leases on that patient.

A win-back task whose patient already has a future booking closes itself on the
way; a service call closes itself once the booking it is about is over or has begun.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict, NotFound
from recall.queue.claim_statements import candidates_stmt, claim_clinic, claim_params, lease_patient_stmt, take_patient
from recall.queue.surge import SurgeStatus, surge_status
from recall.queue.tasks import (
    SERVICE_REASONS,
    CloseReason,
    RecallTask,
    TaskStatus,
    close_service_tasks,
    close_task,
    get_task,
)
from recall.visits.booking import Booking, is_upcoming, upcoming_bookings

# How many tasks one claim may close on its way (their patients booked meanwhile) before it gives up.
MAX_SKIPS = 50


@dataclass(frozen=True)
class Claim:
    task: RecallTask | None  # the task that came up first; None when nothing is due
    surge: SurgeStatus
    closed_on_the_way: int = 0
    # Every open task of that patient now leased to the caller, ``task`` first (service calls, then by rank).
    tasks: tuple[RecallTask, ...] = ()


def _lease_patient(
    session: Session, patient_id: int, me: int, now: datetime, until: datetime
) -> tuple[list[RecallTask], bool]:
    """One UPDATE: every task of the patient the caller may work is leased to them; another holder's lapsed
    leases on the patient's tasks are cleared (the claim row now names the caller). Returns the leased tasks,
    and whether the patient has a booking still to come."""
    params = {"patient": patient_id, "me": me, "now": now, "until": until}
    rows = session.execute(lease_patient_stmt(), params).all()
    leased = [task for task, _ in rows if task.lease_holder_id == me and task.status is TaskStatus.OPEN]
    return leased, any(booked for _, booked in rows)


def _close_on_the_way(session: Session, tasks: list[RecallTask], booked: bool, now: datetime) -> int:
    """Of the patient's leased tasks, those no longer worth a call close themselves: win-back work of a patient
    who has a future booking (``booked``), service calls about a booking that is over or has begun. Returns
    how many."""
    closed = 0
    winback = [t for t in tasks if t.reason not in SERVICE_REASONS]
    if winback and booked:
        booking = session.scalars(upcoming_bookings(now, winback[0].patient_id).limit(1)).first()
        if booking is not None:
            for task in winback:
                won = booking.created_at >= task.created_at
                close_task(
                    task,
                    status=TaskStatus.WON if won else TaskStatus.CLOSED,
                    reason=CloseReason.BOOKED_ELSEWHERE if won else CloseReason.ALREADY_BOOKED,
                    now=now,
                    by_staff_id=None,
                    booking_id=booking.id,
                )
                closed += 1
    about = {t.origin_booking_id for t in tasks if t.reason in SERVICE_REASONS and t.origin_booking_id is not None}
    if about:
        ahead = set(session.scalars(sa.select(Booking.id).where(Booking.id.in_(about), is_upcoming(now))))
        for booking_id in sorted(about - ahead):
            closed += max(1, close_service_tasks(session, booking_id, now))
    if closed:
        session.flush()
    return closed


def _order(head_id: int, tasks: list[RecallTask]) -> tuple[RecallTask, ...]:
    return tuple(sorted(tasks, key=lambda t: (t.id != head_id, t.reason not in SERVICE_REASONS, t.rank_at, t.id)))


def claim_next(session: Session, clock: Clock, actor: Actor) -> Claim:
    """Lease the next patient's workable tasks to the calling operator (or manager); commits. ``task`` is None
    when nothing is due."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    now = clock.now()
    dialect = session.get_bind().dialect.name
    clinic = claim_clinic(session, actor.clinic_id)
    surge = surge_status(session, clinic, now)
    until = now + timedelta(minutes=clinic.recall_lease_minutes)
    me = actor.member_id
    params = claim_params(clinic, me, now, dialect == "sqlite")
    closed = tries = 0
    for reserved_only in (True, False):
        while closed <= MAX_SKIPS and tries <= MAX_SKIPS:
            row = session.execute(candidates_stmt(dialect, reserved_only, surge.active), params).first()
            if row is None:
                break
            tries += 1
            if not take_patient(session, row.patient_id, me, now):
                continue  # another operator's lease committed since the candidate was read: not this patient
            tasks, booked = _lease_patient(session, row.patient_id, me, now, until)
            closed += _close_on_the_way(session, tasks, booked, now)
            tasks = [t for t in tasks if t.status is TaskStatus.OPEN]
            if not tasks:
                continue
            ordered = _order(row.id, tasks)
            session.commit()
            return Claim(ordered[0], surge, closed, ordered)
    session.commit()
    return Claim(None, surge, closed)


def _held(session: Session, actor: Actor, task_id: int) -> RecallTask:
    task = get_task(session, actor.clinic_id, task_id, for_update=True)
    if task.status is not TaskStatus.OPEN:
        raise Conflict(f"the task is no longer open (recall task {task.id} is {task.status.value})", field="task_id")
    if task.lease_holder_id != actor.staff_id:
        raise Conflict(f"this task is not leased to you; claim a task first (recall task {task.id})", field="task_id")
    return task


# The task's patient, locked, and the clinic, unlocked, in one statement: the task's row is read (unlocked) only
# for its patient's id.
_PATIENT_OF_TASK = (
    sa.select(Patient, Clinic)
    .join(RecallTask, RecallTask.patient_id == Patient.id)
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .where(
        RecallTask.id == sa.bindparam("id"),
        RecallTask.clinic_id == sa.bindparam("clinic"),
        Patient.clinic_id == sa.bindparam("clinic"),
    )
    .with_for_update(of=Patient)
)


def lock_patient_of(session: Session, actor: Actor, task_id: int) -> Patient:
    """Lock order as in the booking flow and the claim: the patient, then the tasks. Returns the patient, locked;
    the task is read only for its patient's id (the caller locks it next)."""
    return lock_patient_with_clinic(session, actor, task_id)[0]


def lock_patient_with_clinic(session: Session, actor: Actor, task_id: int) -> tuple[Patient, Clinic]:
    """``lock_patient_of``, and the clinic read in the same statement. The caller keeps the clinic: the session
    holds its objects weakly, so a clinic nobody refers to is gone again and get_clinic would read it anew."""
    row = session.execute(_PATIENT_OF_TASK, {"id": task_id, "clinic": actor.clinic_id}).first()
    if row is None:
        raise NotFound("recall task", task_id)
    return row[0], row[1]


def renew_lease(session: Session, clock: Clock, actor: Actor, task_id: int) -> RecallTask:
    """Keep working: the caller's leases on this task's patient run for another full period from now (also
    after they lapsed, if nobody took the patient meanwhile)."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    patient, clinic = lock_patient_with_clinic(session, actor, task_id)
    patient_id = patient.id
    task = _held(session, actor, task_id)
    until = clock.now() + timedelta(minutes=clinic.recall_lease_minutes)
    session.execute(
        sa.update(RecallTask)
        .where(
            RecallTask.patient_id == patient_id,
            RecallTask.lease_holder_id == actor.staff_id,
            RecallTask.status == TaskStatus.OPEN,
        )
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(task)
    return task


def release_lease(session: Session, clock: Clock, actor: Actor, task_id: int) -> RecallTask:
    """Give the patient's work back to the queue untouched: every lease on this task's patient the caller
    holds (a manager: anyone's) ends."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    patient_id = lock_patient_of(session, actor, task_id).id
    if actor.role is Role.MANAGER:
        task = get_task(session, actor.clinic_id, task_id, for_update=True)
        if task.lease_holder_id is None:
            raise Conflict(f"the task is not leased (recall task {task.id})", field="task_id")
    else:
        task = _held(session, actor, task_id)
    leases = sa.update(RecallTask).where(RecallTask.patient_id == patient_id, RecallTask.lease_holder_id.is_not(None))
    if actor.role is not Role.MANAGER:
        leases = leases.where(RecallTask.lease_holder_id == actor.staff_id)
    session.execute(
        leases.values(lease_holder_id=None, lease_expires_at=None).execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(task)
    return task


def held_by(session: Session, actor: Actor, task_id: int) -> RecallTask:
    """The task, locked, if the caller holds its lease (for logging an attempt)."""
    return _held(session, actor, task_id)
