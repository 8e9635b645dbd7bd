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

A win-back task whose patient already has a future booking closes itself on the
way; a service call closes itself once the booking it is about is over or has begun.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.actors import Actor, Role
from recall.bookings import ACTIVE, Booking
from recall.clinics import Clinic, get_clinic
from recall.clock import Clock
from recall.db import UTCDateTime
from recall.errors import Conflict
from recall.patients import Patient
from recall.recall_tasks import (
    SERVICE_REASONS, CloseReason, RecallTask, TaskStatus, close_service_tasks, close_task, drop_lease, get_task,
)
from recall.surge import SurgeStatus, surge_status

# How many tasks one claim may close on its way (their patients booked meanwhile) before it gives up.
MAX_SKIPS = 50


@dataclass(frozen=True)
class Claim:
    task: RecallTask | None
    surge: SurgeStatus
    closed_on_the_way: int = 0


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
    now = datetime.fromtimestamp(minute * 60, tz=timezone.utc)
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
    hours = (clinic.calling_weekday_start, clinic.calling_weekday_end,
             clinic.calling_weekend_start, clinic.calling_weekend_end)
    return _zones_open(hours, int(now.timestamp() // 60))


def in_calling_hours(clinic: Clinic, zone: str | None, at: datetime) -> bool:
    return (zone or clinic.timezone) in zones_in_calling_hours(clinic, at)


def _free(now: datetime) -> Any:
    return sa.or_(RecallTask.lease_expires_at.is_(None), RecallTask.lease_expires_at <= now)


def _candidates(session: Session, clinic: Clinic, me: int, now: datetime, *, reserved_only: bool,
                surge: bool) -> sa.Select[Any]:
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
            in_clinic == clinic.id, RecallTask.status == TaskStatus.OPEN, due_at <= now,
            _free(now), Patient.opted_out.is_(False), Patient.phone_invalid.is_(False),
            _in_zones(sa.func.coalesce(Patient.timezone, clinic.timezone), zones_in_calling_hours(clinic, now), sqlite),
        )
    )
    if reserved_only:
        stmt = stmt.where(RecallTask.reserved_for_id == me, RecallTask.reserved_until > now)
        order: list[Any] = [RecallTask.due_at, RecallTask.id]
    else:
        stmt = stmt.where(sa.or_(RecallTask.reserved_for_id.is_(None), RecallTask.reserved_for_id == me,
                                 RecallTask.reserved_until <= now))
        service_first = sa.case((RecallTask.reason.in_(SERVICE_REASONS), 0), else_=1)
        order = [service_first, _surge_order(session, now), RecallTask.id] if surge \
            else [RecallTask.rank_at, RecallTask.id]
    stmt = stmt.order_by(*order).limit(1)
    if not sqlite:
        stmt = stmt.with_for_update(skip_locked=True, of=RecallTask)
    return stmt


def _booked_ahead(session: Session, patient_id: int, now: datetime) -> bool:
    return session.scalar(sa.select(Booking.id).where(
        Booking.patient_id == patient_id, Booking.status.in_(ACTIVE), Booking.start_at > now).limit(1)) is not None


def _booking_over(session: Session, booking_id: int, now: datetime) -> bool:
    """Whether the booking a service call is about is no longer worth a call: ended, or already begun."""
    return session.scalar(sa.select(Booking.id).where(
        Booking.id == booking_id, Booking.status.in_(ACTIVE), Booking.start_at > now)) is None


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
            RecallTask.due_at)
    else:
        overdue = sa.extract("epoch", sa.cast(now, sa.DateTime(timezone=True)) - RecallTask.due_at)
    return (RecallTask.value_weight * overdue).desc()


def _close_booked_ahead(session: Session, task_id: int, now: datetime) -> None:
    """The patient already has a future booking: the task closes itself instead of being handed out."""
    task = session.get(RecallTask, task_id)
    assert task is not None
    booking = session.scalars(
        sa.select(Booking).where(Booking.patient_id == task.patient_id, Booking.status.in_(ACTIVE),
                                 Booking.start_at > now).order_by(Booking.start_at).limit(1)).one()
    if booking.created_at >= task.created_at:
        close_task(task, status=TaskStatus.WON, reason=CloseReason.BOOKED_ELSEWHERE, now=now, by_staff_id=None,
                   booking_id=booking.id)
    else:
        close_task(task, status=TaskStatus.CLOSED, reason=CloseReason.ALREADY_BOOKED, now=now, by_staff_id=None,
                   booking_id=booking.id)
    session.flush()


def _take(session: Session, task_id: int, me: int, now: datetime, until: datetime) -> RecallTask | None:
    """The lease itself: a conditional update that only succeeds while the task is still free."""
    return session.scalars(
        sa.update(RecallTask)
        .where(RecallTask.id == task_id, RecallTask.status == TaskStatus.OPEN, _free(now))
        .values(lease_holder_id=me, lease_expires_at=until)
        .returning(RecallTask)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).first()


def claim_next(session: Session, clock: Clock, actor: Actor) -> Claim:
    """Lease the next task to the calling operator (or manager); commits. ``task`` is None when nothing is due."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    now = clock.now()
    clinic = get_clinic(session, actor.clinic_id)
    surge = surge_status(session, clinic, now)
    until = now + timedelta(minutes=clinic.recall_lease_minutes)
    closed = 0
    for reserved_only in (True, False):
        while closed <= MAX_SKIPS:
            row = session.execute(_candidates(session, clinic, actor.staff_id, now, reserved_only=reserved_only,
                                              surge=surge.active)).first()
            if row is None:
                break
            if row.reason in SERVICE_REASONS:
                if row.origin_booking_id is not None and _booking_over(session, row.origin_booking_id, now):
                    closed += max(1, close_service_tasks(session, row.origin_booking_id, now))
                    session.flush()
                    continue
            elif _booked_ahead(session, row.patient_id, now):
                _close_booked_ahead(session, row.id, now)
                closed += 1
                continue
            task = _take(session, row.id, actor.staff_id, now, until)
            if task is None:  # pragma: no cover - the row lock / write lock makes this unreachable
                continue
            session.commit()
            return Claim(task, surge, closed)
    session.commit()
    return Claim(None, surge, closed)


def _held(session: Session, actor: Actor, task_id: int) -> RecallTask:
    task = get_task(session, actor.clinic_id, task_id, for_update=True)
    if task.status is not TaskStatus.OPEN:
        raise Conflict(f"recall task {task.id} is {task.status.value}", field="task_id")
    if task.lease_holder_id != actor.staff_id:
        raise Conflict(f"recall task {task.id} is not leased to you; claim a task first", field="task_id")
    return task


def renew_lease(session: Session, clock: Clock, actor: Actor, task_id: int) -> RecallTask:
    """Keep working: the lease runs for another full period from now (also after it lapsed, if nobody took it)."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    task = _held(session, actor, task_id)
    clinic = get_clinic(session, actor.clinic_id)
    task.lease_expires_at = clock.now() + timedelta(minutes=clinic.recall_lease_minutes)
    session.commit()
    return task


def release_lease(session: Session, clock: Clock, actor: Actor, task_id: int) -> RecallTask:
    """Give the task back to the queue untouched. A manager may free anyone's task."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    if actor.role is Role.MANAGER:
        task = get_task(session, actor.clinic_id, task_id, for_update=True)
        if task.lease_holder_id is None:
            raise Conflict(f"recall task {task.id} is not leased", field="task_id")
    else:
        task = _held(session, actor, task_id)
    drop_lease(task)
    session.commit()
    return task


def held_by(session: Session, actor: Actor, task_id: int) -> RecallTask:
    """The task, locked, if the caller holds its lease (for logging an attempt)."""
    return _held(session, actor, task_id)
