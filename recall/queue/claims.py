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
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.patients import Patient, get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import UTCDateTime
from recall.common.errors import Conflict, NotFound
from recall.queue.surge import SurgeStatus, surge_status
from recall.queue.tasks import (
    SERVICE_REASONS,
    CloseReason,
    PatientClaim,
    RecallTask,
    TaskStatus,
    close_service_tasks,
    close_task,
    get_task,
)
from recall.visits.booking import ACTIVE, Booking, is_upcoming, upcoming_bookings

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


class CallingHours(Protocol):
    """A clinic's calling hours, as the claim reads them (a Clinic, or the claim's own read of its row)."""

    @property
    def timezone(self) -> str: ...
    @property
    def calling_weekday_start(self) -> int: ...
    @property
    def calling_weekday_end(self) -> int: ...
    @property
    def calling_weekend_start(self) -> int: ...
    @property
    def calling_weekend_end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClaimClinic:
    """What a claim needs of its clinic, read in one prebuilt statement instead of loading the whole Clinic."""

    id: int
    timezone: str
    calling_weekday_start: int
    calling_weekday_end: int
    calling_weekend_start: int
    calling_weekend_end: int
    recall_lease_minutes: int
    surge_backlog: int | None
    surge_overdue_days: int | None
    surge_overdue_tasks: int


_CLINIC_ROW = sa.select(*(Clinic.__table__.c[f.name] for f in fields(ClaimClinic))).where(
    Clinic.__table__.c.id == sa.bindparam("clinic", type_=sa.Integer())
)


def claim_clinic(session: Session, clinic_id: int) -> ClaimClinic:
    row = session.execute(_CLINIC_ROW, {"clinic": clinic_id}).first()
    if row is None:
        raise NotFound("clinic", clinic_id)
    return ClaimClinic(*row)


def zones_in_calling_hours(clinic: CallingHours, now: datetime) -> tuple[str, ...]:
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


def in_calling_hours(clinic: CallingHours, zone: str | None, at: datetime) -> bool:
    return (zone or clinic.timezone) in zones_in_calling_hours(clinic, at)


# The claim's statements are built once per dialect (and kind), on the tables rather than the mapped classes
# where no object is loaded, with bound parameters (:clinic, :me, :now, :until, :patient, :clinic_zone,
# :open_zones): building a statement, and the ORM's handling of it, cost more CPU than running it.
_TASKS, _PATIENTS = RecallTask.__table__, Patient.__table__
_T, _P = _TASKS.c, _PATIENTS.c
_SIBLING = _TASKS.alias("sibling").c  # the patient's other tasks, in the candidate query
_CLINIC, _ME = sa.bindparam("clinic", type_=sa.Integer()), sa.bindparam("me", type_=sa.Integer())
_PATIENT = sa.bindparam("patient", type_=sa.Integer())
_NOW, _UNTIL = sa.bindparam("now", type_=UTCDateTime()), sa.bindparam("until", type_=UTCDateTime())
_OPEN_ZONES, _CLINIC_ZONE = (
    sa.bindparam("open_zones", type_=sa.String()),
    sa.bindparam("clinic_zone", type_=sa.String()),
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


@functools.lru_cache(maxsize=8)
def _candidates_stmt(dialect: str, reserved_only: bool, surge: bool) -> sa.Select[Any]:
    """The next candidate task (with its patient), free and callable now: callbacks reserved for the caller
    (``reserved_only``), or the queue in its order (``surge``: value x overdue age)."""
    sqlite = dialect == "sqlite"
    # SQLite's planner would take the due-time index and sort every due task; "+column" keeps it off that
    # index, so it walks the rank index in order and stops at the first free task.
    due_at = sa.type_coerce(sa.literal_column("+recall_tasks.due_at"), UTCDateTime()) if sqlite else _T.due_at
    # Callbacks reserved for me: "+clinic_id" likewise keeps it on ix_recall_tasks_reserved (a handful of rows)
    # instead of walking every open task of the clinic by ix_recall_tasks_queue.
    in_clinic = sa.literal_column("+recall_tasks.clinic_id") if sqlite and reserved_only else _T.clinic_id
    patient_free = ~sa.exists().where(  # no task of the patient is under another operator's live lease
        _SIBLING.patient_id == _T.patient_id, _SIBLING.lease_holder_id != _ME, _SIBLING.lease_expires_at > _NOW
    )
    stmt = (
        sa.select(_T.id, _T.patient_id, _T.reason, _T.origin_booking_id)
        .select_from(_TASKS.join(_PATIENTS, _P.id == _T.patient_id))
        .where(
            in_clinic == _CLINIC,
            _T.status == TaskStatus.OPEN,
            due_at <= _NOW,
            sa.or_(_T.lease_expires_at.is_(None), _T.lease_expires_at <= _NOW),
            patient_free,
            _P.opted_out.is_(False),
            _P.phone_invalid.is_(False),
            _in_zones(sa.func.coalesce(_P.timezone, _CLINIC_ZONE), sqlite),
        )
    )
    if reserved_only:
        stmt = stmt.where(_T.reserved_for_id == _ME, _T.reserved_until > _NOW)
        order: list[Any] = [_T.due_at, _T.id]
    else:
        stmt = stmt.where(sa.or_(_T.reserved_for_id.is_(None), _T.reserved_for_id == _ME, _T.reserved_until <= _NOW))
        service_first = sa.case((_T.reason.in_(SERVICE_REASONS), 0), else_=1)
        order = [service_first, _surge_order(sqlite), _T.id] if surge else [_T.rank_at, _T.id]
    stmt = stmt.order_by(*order).limit(1)
    if not sqlite:
        # The patient's row too: two claimers never try one patient at once. NO KEY UPDATE, so inserts that
        # merely reference the patient (an attempt, a booking's foreign key) are not held up.
        stmt = stmt.with_for_update(skip_locked=True, key_share=True, of=(_TASKS, _PATIENTS))
    return stmt


def _in_zones(zone: Any, sqlite: bool) -> Any:
    """``zone IN zones`` as ONE bound parameter (an array, or a JSON list on SQLite): hundreds of zone names
    as separate parameters would cost more to build and compile than the query costs to run."""
    if sqlite:
        return zone.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(_OPEN_ZONES)).scalar_subquery())
    return zone == sa.any_(sa.func.string_to_array(_OPEN_ZONES, ","))


@functools.lru_cache(maxsize=64)
def _zone_list(zones: tuple[str, ...], sqlite: bool) -> str:
    return json.dumps(zones) if sqlite else ",".join(zones)


def _surge_order(sqlite: bool) -> Any:
    """Strictly value x overdue age, largest first."""
    if sqlite:
        overdue: Any = sa.func.julianday(_NOW) - sa.func.julianday(_T.due_at)
    else:
        overdue = sa.extract("epoch", sa.cast(_NOW, sa.DateTime(timezone=True)) - _T.due_at)
    return (_T.value_weight * overdue).desc()


def _claim_params(clinic: ClaimClinic, me: int, now: datetime, sqlite: bool) -> dict[str, Any]:
    zones = _zone_list(zones_in_calling_hours(clinic, now), sqlite)
    return {"clinic": clinic.id, "me": me, "now": now, "clinic_zone": clinic.timezone, "open_zones": zones}


def candidates(
    session: Session, clinic: ClaimClinic, me: int, now: datetime, *, reserved_only: bool, surge: bool
) -> sa.Select[Any]:
    """The candidate statement with its values bound (to show its plan)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    return _candidates_stmt(session.get_bind().dialect.name, reserved_only, surge).params(
        _claim_params(clinic, me, now, sqlite)
    )


@functools.lru_cache(maxsize=2)
def _take_patient_stmt(dialect: str) -> Any:
    held_live = sa.exists().where(
        _T.patient_id == _PATIENT, _T.lease_holder_id.is_not(None), _T.lease_expires_at > _NOW
    )
    insert = sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert
    claims = cast(sa.Table, PatientClaim.__table__)  # mapped to a Table, typed as any FromClause
    return (
        insert(claims)
        .values(patient_id=_PATIENT, holder_id=_ME, claimed_at=_NOW)
        .on_conflict_do_update(
            index_elements=[claims.c.patient_id],
            set_={"holder_id": _ME, "claimed_at": _NOW},
            where=sa.or_(claims.c.holder_id == _ME, ~held_live),
        )
        .returning(claims.c.holder_id)
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
    # Whether the patient has a booking still to come, read after the patient is the caller's: a booking made
    # meanwhile (its flow locks the patient first) is seen here, where the candidate's snapshot could miss it.
    booked = (
        sa.exists()
        .where(Booking.patient_id == _PATIENT, Booking.status.in_(ACTIVE), Booking.start_at > _NOW)
        .label("booked")
    )
    return (
        sa.update(RecallTask)
        .where(RecallTask.patient_id == _PATIENT, sa.or_(workable, RecallTask.lease_holder_id != _ME))
        .values(
            lease_holder_id=sa.case((workable, _ME), (lapsed_other, sa.null()), else_=RecallTask.lease_holder_id),
            lease_expires_at=sa.case((workable, _UNTIL), (lapsed_other, sa.null()), else_=RecallTask.lease_expires_at),
        )
        .returning(RecallTask, booked)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


def _lease_patient(
    session: Session, patient_id: int, me: int, now: datetime, until: datetime
) -> tuple[list[RecallTask], bool]:
    """One UPDATE: every task of the patient the caller may work is leased to them; another holder's lapsed
    leases on the patient's tasks are cleared (the claim row now names the caller). Returns the leased tasks,
    and whether the patient has a booking still to come."""
    params = {"patient": patient_id, "me": me, "now": now, "until": until}
    rows = session.execute(_lease_patient_stmt(), params).all()
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
    params = _claim_params(clinic, me, now, dialect == "sqlite")
    closed = tries = 0
    for reserved_only in (True, False):
        while closed <= MAX_SKIPS and tries <= MAX_SKIPS:
            row = session.execute(_candidates_stmt(dialect, reserved_only, surge.active), params).first()
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
