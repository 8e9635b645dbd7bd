"""Re-planning a clinic's future bookings after a policy change, in batches that never hold the clinic for long.

Why it looks like this:

* Saving a policy commits the new version and a run (``start``) at once. The run re-plans the clinic's future
  bookings in batches (``run_batch``): each batch is its own short transaction that re-plans up to ``size``
  bookings and moves the run's cursor with them. A crash loses at most the batch under way, and the next batch
  goes on from the cursor (resumable). A booking already planned under the run's version (by a checkout or a
  move since, or by a batch run again after a crash) is passed over, so running a batch twice changes nothing.
* The request that saved does the first batches itself, up to ``INLINE`` bookings: a small clinic's save is
  complete when it answers. The worker does the rest (``work``), resting between batches as long as the last
  one took, so the clinic's writers (on SQLite every writer) wait for at most one batch.
* Bookings go soonest first: the cursor is (start_at, id), the order of ``ix_bookings_clinic_start``. Before
  that, each batch takes the bookings whose reminders planned under an older version fall due within
  ``HORIZON``. Such a reminder is never sent while its run is under way (the claim passes over it:
  ``stale``); it is re-planned under the version in force first. So a reminder goes out under the policy in
  force when it is sent, never under one replaced before.
* A newer save supersedes the run under way: the new run covers every future booking again.
* A fallback (a failed step's backup, due at once) stands for a step already sent under its version: it keeps
  that version and is not held back.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.clock import Clock
from recall.common.db import Base, Database, UTCDateTime
from recall.reminders.reminders import (
    Reminder,
    ReminderStatus,
    cancel_waiting,
    insert_reminders,
    plan_with,
    planning_for,
)
from recall.visits.booking import ACTIVE, Booking, is_upcoming

BATCH = 25  # bookings per transaction: about what one checkout takes, on SQLite the longest any writer waits
INLINE = 200  # bookings the saving request re-plans itself; the worker does the rest
HORIZON = timedelta(minutes=10)  # stale reminders due this soon are re-planned ahead of the soonest-first pass
REASON = "policy_changed"
_log = logging.getLogger(__name__)


class ReplanStatus(str, enum.Enum):
    RUNNING = "running"
    DONE = "done"
    SUPERSEDED = "superseded"  # a newer save started its own run over every future booking


class ReplanRun(Base):
    __tablename__ = "replan_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    policy_version: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20))
    total: Mapped[int] = mapped_column()  # the future bookings when it started
    done: Mapped[int] = mapped_column(default=0)  # bookings the soonest-first pass has gone past
    cursor_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cursor_booking_id: Mapped[int | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    __table_args__ = (sa.Index("ix_replan_runs_clinic_status", "clinic_id", "status"),)


def stale() -> sa.ColumnElement[bool]:
    """A waiting reminder planned under an older version than a run under way: not to be sent as it is."""
    return sa.and_(
        Reminder.fallback_of_id.is_(None),
        sa.exists().where(
            ReplanRun.clinic_id == Reminder.clinic_id,
            ReplanRun.status == ReplanStatus.RUNNING.value,
            ReplanRun.policy_version > Reminder.policy_version,
        ),
    )


def start(session: Session, clinic_id: int, version: int, now: datetime, staff_id: int | None) -> ReplanRun:
    """A run for ``version`` over every future booking; supersedes the one under way. The caller commits."""
    session.execute(
        sa.update(ReplanRun)
        .where(ReplanRun.clinic_id == clinic_id, ReplanRun.status == ReplanStatus.RUNNING.value)
        .values(status=ReplanStatus.SUPERSEDED.value, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    total = session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(Booking.clinic_id == clinic_id, is_upcoming(now))
    )
    run = ReplanRun(
        clinic_id=clinic_id,
        policy_version=version,
        status=ReplanStatus.RUNNING.value,
        total=total or 0,
        done=0,
        started_at=now,
        updated_at=now,
        started_by_id=staff_id,
    )
    session.add(run)
    session.flush()
    return run


def latest(session: Session, clinic_id: int) -> ReplanRun | None:
    """The clinic's last run (under way or not): what the manager sees as the re-plan's progress."""
    return session.scalars(
        sa.select(ReplanRun).where(ReplanRun.clinic_id == clinic_id).order_by(ReplanRun.id.desc()).limit(1)
    ).first()


def run_batch(
    session: Session, run_id: int, now: datetime, *, size: int | None = None, wait: bool = True
) -> ReplanRun | None:
    """One batch of the run, committed; returns the run after it. None: another process holds the run (only
    when not ``wait``ing, on PostgreSQL), or it is gone."""
    query = sa.select(ReplanRun).where(ReplanRun.id == run_id).with_for_update(skip_locked=not wait)
    run = session.scalars(query.execution_options(populate_existing=True)).first()
    if run is None or run.status != ReplanStatus.RUNNING.value:
        session.commit()  # nothing written; a rollback would expire what the caller holds (the saved version)
        return run
    clinic = session.get(Clinic, run.clinic_id)
    assert clinic is not None
    size = size or BATCH
    due = _due_stale(session, run, now, size)
    rest = _next(session, run, now, size - len(due)) if len(due) < size else []
    fresh = _planned_under(session, [b.id for b in rest], run.policy_version)
    seen = {b.id for b in due}
    replan(session, clinic, due + [b for b in rest if b.id not in fresh and b.id not in seen], now)
    if rest:
        run.cursor_start_at, run.cursor_booking_id = rest[-1].start_at, rest[-1].id
        run.done += len(rest)
    if len(due) < size and len(rest) < size - len(due):  # the soonest-first pass found no more
        run.status, run.finished_at, run.total = ReplanStatus.DONE.value, now, max(run.total, run.done)
    run.updated_at = now
    session.commit()
    return run


def replan(session: Session, clinic: Clinic, bookings: Sequence[Booking], now: datetime) -> None:
    """Re-plan a batch of the clinic's bookings by its policy in force, in a few statements for all of them: one
    cancels what waits, one finds which never had a reminder, one reads the patients. The caller commits."""
    if not bookings:
        return
    ids = [b.id for b in bookings]
    had = set(session.scalars(sa.select(Reminder.booking_id).where(Reminder.booking_id.in_(ids)).distinct()))
    cancel_waiting(session, now, booking_ids=ids, reason=REASON)
    patients = {
        p.id: p for p in session.scalars(sa.select(Patient).where(Patient.id.in_({b.patient_id for b in bookings})))
    }
    planning = planning_for(session, clinic, now)
    rows = [
        row
        for booking in bookings
        if booking.status in ACTIVE
        for row in plan_with(planning, booking, patients[booking.patient_id], now, first=booking.id not in had)
    ]
    insert_reminders(session, rows)
    session.flush()


def run_inline(session: Session, run: ReplanRun, now: datetime) -> ReplanRun:
    """The saving request's share of the run: batches until ``INLINE`` bookings, or the run is done. The save
    has committed by then: a database that refuses a batch (busy, a lock timeout) ends the share, not the save,
    and the worker goes on from the cursor."""
    current: ReplanRun | None = run
    for _ in range(max(1, INLINE // BATCH)):
        try:
            current = run_batch(session, run.id, now)
        except DBAPIError as exc:
            session.rollback()
            _log.warning(
                "clinic %s: the re-plan's first batches stopped (%s); the worker goes on",
                run.clinic_id,
                exc.__class__.__name__,
            )
            break
        if current is None or current.status != ReplanStatus.RUNNING.value:
            break
    return current or run


def work(database: Database, clock: Clock, *, size: int | None = None, budget: float = 30.0) -> int:
    """The worker's job: batches of every run under way until they are done or ``budget`` seconds have passed,
    resting between two batches as long as the last one took. Returns how many batches it ran."""
    deadline, batches = time.monotonic() + budget, 0
    with database.reader() as session:
        run_ids = list(session.scalars(sa.select(ReplanRun.id).where(ReplanRun.status == ReplanStatus.RUNNING.value)))
    for run_id in run_ids:
        while time.monotonic() < deadline:
            began = time.monotonic()
            with database.writer() as session:
                run = run_batch(session, run_id, clock.now(), size=size, wait=False)
            batches += 1
            if run is None or run.status != ReplanStatus.RUNNING.value:
                break
            time.sleep(time.monotonic() - began)
    return batches


def _due_stale(session: Session, run: ReplanRun, now: datetime, size: int) -> list[Booking]:
    # Driven from the few reminders due soon (ix_reminders_due), never from the clinic's every booking.
    ids = session.scalars(
        sa.select(Reminder.booking_id)
        .join(Booking, Booking.id == Reminder.booking_id)
        .where(
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.due_at <= now + HORIZON,
            Reminder.clinic_id == run.clinic_id,
            Reminder.policy_version < run.policy_version,
            Reminder.fallback_of_id.is_(None),
            is_upcoming(now),
        )
        .distinct()
        .limit(size)
    ).all()
    if not ids:
        return []
    return _locked(sa.select(Booking).where(Booking.id.in_(ids)), session)


def _next(session: Session, run: ReplanRun, now: datetime, size: int) -> list[Booking]:
    query = sa.select(Booking).where(Booking.clinic_id == run.clinic_id, is_upcoming(now))
    if run.cursor_start_at is not None:
        after = run.cursor_start_at
        query = query.where(
            (Booking.start_at > after) | ((Booking.start_at == after) & (Booking.id > run.cursor_booking_id))
        )
    return _locked(query, session, size)


def _locked(query: sa.Select[Booking], session: Session, size: int | None = None) -> list[Booking]:
    """The batch's bookings, soonest first, locked as a use case that changes one locks it (``FOR NO KEY UPDATE``
    on PostgreSQL): a move or a confirmation under way finishes first, and then either planned the booking under
    the new version (passed over) or left it to the batch; never both planning it at once."""
    query = query.order_by(Booking.start_at, Booking.id).limit(size).with_for_update(key_share=True, of=Booking)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _planned_under(session: Session, booking_ids: list[int], version: int) -> set[int]:
    if not booking_ids:
        return set()
    return set(
        session.scalars(
            sa.select(Reminder.booking_id).where(
                Reminder.booking_id.in_(booking_ids),
                Reminder.status == ReminderStatus.PLANNED,
                Reminder.policy_version >= version,
            )
        )
    )
