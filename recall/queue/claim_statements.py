"""The claim's statements, prebuilt: the clinic's row, the next candidate, taking the patient, the lease.

Each is built once per dialect (and kind), with bound parameters; see ``recall.queue.claims``
for what they do together.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.db import UTCDateTime
from recall.common.errors import NotFound
from recall.queue.calling_hours import zones_in_calling_hours
from recall.queue.tasks import SERVICE_REASONS, PatientClaim, RecallTask, TaskStatus
from recall.visits.booking import ACTIVE, Booking


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
def candidates_stmt(dialect: str, reserved_only: bool, surge: bool) -> sa.Select[Any]:
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


def claim_params(clinic: ClaimClinic, me: int, now: datetime, sqlite: bool) -> dict[str, Any]:
    zones = _zone_list(zones_in_calling_hours(clinic, now), sqlite)
    return {"clinic": clinic.id, "me": me, "now": now, "clinic_zone": clinic.timezone, "open_zones": zones}


def candidates(
    session: Session, clinic: ClaimClinic, me: int, now: datetime, *, reserved_only: bool, surge: bool
) -> sa.Select[Any]:
    """The candidate statement with its values bound (to show its plan)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    return candidates_stmt(session.get_bind().dialect.name, reserved_only, surge).params(
        claim_params(clinic, me, now, sqlite)
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
def lease_patient_stmt() -> Any:
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
