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

import functools
import json
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session, aliased

from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.patients import Patient, get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import UTCDateTime
from recall.common.errors import Conflict
from recall.queue.surge import SurgeStatus, surge_status
from recall.queue.tasks import (
    SERVICE_REASONS,
    CloseReason,
    PatientClaim,
    RecallTask,
    TaskReason,
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


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    """Every IANA zone, held strongly: ZoneInfo's own cache is small, and re-reading tzdata is slow."""
    zones = []
    for name in sorted(zoneinfo.available_timezones()):
        try:
            zones.append((name, zoneinfo.ZoneInfo(name)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # pragma: no cover - a broken tzdata entry
            continue
    return tuple(zones)


@functools.lru_cache(maxsize=64)
def _zones_open(hours: tuple[int, int, int, int], minute: int) -> tuple[str, ...]:
    now = datetime.fromtimestamp(minute * 60, tz=UTC)
    open_zones = []
    for name, zone in _all_zones():
        local = now.astimezone(zone)
        start, end = (hours[2], hours[3]) if local.weekday() >= 5 else (hours[0], hours[1])
        if start <= local.hour * 60 + local.minute < end:
            open_zones.append(name)
    return tuple(open_zones)


def zones_in_calling_hours(clinic: Clinic, now: datetime) -> tuple[str, ...]:
    """Every IANA zone whose local time is inside the clinic's calling hours right now.

    Computed once a minute per set of hours; a patient's zone (or the clinic's, when
    the patient's is unknown) must be in it for the patient to be handed out.
    """
    hours = (
        clinic.calling_weekday_start,
        clinic.calling_weekday_end,
        clinic.calling_weekend_start,
        clinic.calling_weekend_end,
    )
    return _zones_open(hours, int(now.timestamp() // 60))


def in_calling_hours(clinic: Clinic, zone: str | None, at: datetime) -> bool:
    return (zone or clinic.timezone) in zones_in_calling_hours(clinic, at)


def _free(now: datetime) -> Any:
    return sa.or_(RecallTask.lease_expires_at.is_(None), RecallTask.lease_expires_at <= now)


# The patient's other tasks, in the candidate query. Made once: building an alias's columns costs milliseconds.
_SIBLING = aliased(RecallTask, name="sibling")


def _patient_free(me: int, now: datetime) -> Any:
    """No task of the candidate's patient is under another operator's live lease."""
    return ~sa.exists().where(
        _SIBLING.patient_id == RecallTask.patient_id, _SIBLING.lease_holder_id != me, _SIBLING.lease_expires_at > now
    )


def _workable(me: Any, now: Any) -> Any:
    """A task of the claimed patient the caller may work now: open, due, free (or theirs), not someone's callback."""
    return sa.and_(
        RecallTask.status == TaskStatus.OPEN,
        RecallTask.due_at <= now,
        sa.or_(
            RecallTask.lease_expires_at.is_(None), RecallTask.lease_expires_at <= now, RecallTask.lease_holder_id == me
        ),
        sa.or_(
            RecallTask.reserved_for_id.is_(None), RecallTask.reserved_for_id == me, RecallTask.reserved_until <= now
        ),
    )


def _candidates(
    session: Session, clinic: Clinic, me: int, now: datetime, *, reserved_only: bool, surge: bool
) -> sa.Select[int, int, TaskReason, int | None]:
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite's planner would take the due-time index and sort every due task; "+column" keeps it off that
    # index, so it walks the rank index in order and stops at the first free task.
    due_at = sa.type_coerce(sa.literal_column("+recall_tasks.due_at"), UTCDateTime()) if sqlite else RecallTask.due_at
    # Callbacks reserved for me: "+clinic_id" likewise keeps it on ix_recall_tasks_reserved (a handful of rows)
    # instead of walking every open task of the clinic by ix_recall_tasks_queue.
    in_clinic = sa.literal_column("+recall_tasks.clinic_id") if sqlite and reserved_only else RecallTask.clinic_id
    stmt = (
        sa.select(RecallTask.id, RecallTask.patient_id, RecallTask.reason, RecallTask.origin_booking_id)
        .join(Patient, Patient.id == RecallTask.patient_id)
        .where(
            in_clinic == clinic.id,
            RecallTask.status == TaskStatus.OPEN,
            due_at <= now,
            _free(now),
            _patient_free(me, now),
            Patient.opted_out.is_(False),
            Patient.phone_invalid.is_(False),
            _in_zones(sa.func.coalesce(Patient.timezone, clinic.timezone), zones_in_calling_hours(clinic, now), sqlite),
        )
    )
    if reserved_only:
        stmt = stmt.where(RecallTask.reserved_for_id == me, RecallTask.reserved_until > now)
        order: list[Any] = [RecallTask.due_at, RecallTask.id]
    else:
        stmt = stmt.where(
            sa.or_(
                RecallTask.reserved_for_id.is_(None), RecallTask.reserved_for_id == me, RecallTask.reserved_until <= now
            )
        )
        service_first = sa.case((RecallTask.reason.in_(SERVICE_REASONS), 0), else_=1)
        order = (
            [service_first, _surge_order(session, now), RecallTask.id] if surge else [RecallTask.rank_at, RecallTask.id]
        )
    stmt = stmt.order_by(*order).limit(1)
    if not sqlite:
        # The patient's row too: two claimers never try one patient at once. NO KEY UPDATE, so inserts that
        # merely reference the patient (an attempt, a booking's foreign key) are not held up.
        stmt = stmt.with_for_update(skip_locked=True, key_share=True, of=(RecallTask, Patient))
    return stmt


def _in_zones(zone: Any, zones: tuple[str, ...], sqlite: bool) -> Any:
    """``zone IN zones`` as ONE bound parameter (an array, or a JSON list on SQLite): hundreds of zone names
    as separate parameters would cost more to build and compile than the query costs to run."""
    if sqlite:
        names = sa.select(sa.column("value")).select_from(sa.func.json_each(json.dumps(zones))).scalar_subquery()
        return zone.in_(names)
    return zone == sa.any_(sa.func.string_to_array(sa.bindparam("open_zones", _comma_joined(zones)), ","))


@functools.lru_cache(maxsize=64)
def _comma_joined(zones: tuple[str, ...]) -> str:
    return ",".join(zones)


def _surge_order(session: Session, now: datetime) -> Any:
    """Strictly value x overdue age, largest first."""
    if session.get_bind().dialect.name == "sqlite":
        overdue: Any = sa.func.julianday(now.replace(tzinfo=None).isoformat(sep=" ")) - sa.func.julianday(
            RecallTask.due_at
        )
    else:
        overdue = sa.extract("epoch", sa.cast(now, sa.DateTime(timezone=True)) - RecallTask.due_at)
    return (RecallTask.value_weight * overdue).desc()


# The claim's two writes are built once per dialect, with bound parameters: building a statement costs
# more CPU than running it (:patient, :me, :now, :until).
_ME, _PATIENT = sa.bindparam("me", type_=sa.Integer()), sa.bindparam("patient", type_=sa.Integer())
_NOW, _UNTIL = sa.bindparam("now", type_=UTCDateTime()), sa.bindparam("until", type_=UTCDateTime())


@functools.lru_cache(maxsize=2)
def _take_patient_stmt(dialect: str) -> Any:
    held_live = sa.exists().where(
        RecallTask.patient_id == _PATIENT, RecallTask.lease_holder_id.is_not(None), RecallTask.lease_expires_at > _NOW
    )
    insert = sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert
    return (
        insert(PatientClaim)
        .values(patient_id=_PATIENT, holder_id=_ME, claimed_at=_NOW)
        .on_conflict_do_update(
            index_elements=[PatientClaim.patient_id],
            set_={"holder_id": _ME, "claimed_at": _NOW},
            where=sa.or_(PatientClaim.holder_id == _ME, ~held_live),
        )
        .returning(PatientClaim.holder_id)
    )


def take_patient(session: Session, patient_id: int, me: int, now: datetime) -> bool:
    """Make the caller the holder of the patient's claim row, unless another operator holds a live lease on a
    task of theirs; in the caller's transaction. Leases of the former holder must be cleared before commit."""
    stmt = _take_patient_stmt(session.get_bind().dialect.name)
    return session.execute(stmt, {"patient": patient_id, "me": me, "now": now}).first() is not None


@functools.lru_cache(maxsize=1)
def _lease_patient_stmt() -> Any:
    workable = _workable(_ME, _NOW)
    lapsed_other = sa.and_(RecallTask.lease_holder_id != _ME, RecallTask.lease_expires_at <= _NOW)
    return (
        sa.update(RecallTask)
        .where(RecallTask.patient_id == _PATIENT, sa.or_(workable, RecallTask.lease_holder_id != _ME))
        .values(
            lease_holder_id=sa.case((workable, _ME), (lapsed_other, sa.null()), else_=RecallTask.lease_holder_id),
            lease_expires_at=sa.case((workable, _UNTIL), (lapsed_other, sa.null()), else_=RecallTask.lease_expires_at),
        )
        .returning(RecallTask)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


def _lease_patient(session: Session, patient_id: int, me: int, now: datetime, until: datetime) -> list[RecallTask]:
    """One UPDATE: every task of the patient the caller may work is leased to them; another holder's lapsed
    leases on the patient's tasks are cleared (the claim row now names the caller). Returns the leased tasks."""
    rows = session.scalars(_lease_patient_stmt(), {"patient": patient_id, "me": me, "now": now, "until": until}).all()
    return [task for task in rows if task.lease_holder_id == me and task.status is TaskStatus.OPEN]


def _close_on_the_way(session: Session, tasks: list[RecallTask], now: datetime) -> int:
    """Of the patient's leased tasks, those no longer worth a call close themselves: win-back work of a patient
    who has a future booking, service calls about a booking that is over or has begun. Returns how many."""
    closed = 0
    winback = [t for t in tasks if t.reason not in SERVICE_REASONS]
    if winback:
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
    clinic = get_clinic(session, actor.clinic_id)
    surge = surge_status(session, clinic, now)
    until = now + timedelta(minutes=clinic.recall_lease_minutes)
    me = actor.member_id
    closed = tries = 0
    for reserved_only in (True, False):
        while closed <= MAX_SKIPS and tries <= MAX_SKIPS:
            row = session.execute(
                _candidates(session, clinic, me, now, reserved_only=reserved_only, surge=surge.active)
            ).first()
            if row is None:
                break
            tries += 1
            if not take_patient(session, row.patient_id, me, now):
                continue  # another operator's lease committed since the candidate was read: not this patient
            tasks = _lease_patient(session, row.patient_id, me, now, until)
            closed += _close_on_the_way(session, tasks, now)
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


def lock_patient_of(session: Session, actor: Actor, task_id: int) -> int:
    """Lock order as in the booking flow and the claim: the patient, then the tasks. Returns the patient's id."""
    patient_id = get_task(session, actor.clinic_id, task_id).patient_id
    get_patient(session, actor.clinic_id, patient_id, for_update=True)
    return patient_id


def renew_lease(session: Session, clock: Clock, actor: Actor, task_id: int) -> RecallTask:
    """Keep working: the caller's leases on this task's patient run for another full period from now (also
    after they lapsed, if nobody took the patient meanwhile)."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    patient_id = lock_patient_of(session, actor, task_id)
    task = _held(session, actor, task_id)
    clinic = get_clinic(session, actor.clinic_id)
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
    patient_id = lock_patient_of(session, actor, task_id)
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
