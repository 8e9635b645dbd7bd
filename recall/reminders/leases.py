"""Claiming due reminders under a lease, and the lease's life: renewed while a send waits for its slot, given
back when a claim is never started, and reaped when it lapsed with the send's outcome unknown.

A claim is one statement, committed before anything is sent: due ``planned`` reminders become ``sending`` with a
lease and the worker's id (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so claimers never wait for each other), and
the attempt counter goes up there, before anything leaves the building. A reminder planned under a policy version
that a re-plan under way replaces is not claimed (``replans.stale``): the re-plan takes it first. A reminder whose
lease lapsed while ``sending`` may or may not have gone out, so the reaper makes it ``unknown`` (``worker_lost``):
never re-sent blindly, ``recall.reminders.recovery`` asks the provider first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from recall.common.db import Database
from recall.reminders import replans
from recall.reminders.outcomes import SendIncident
from recall.reminders.planning import Channel
from recall.reminders.reminders import Reminder, ReminderStatus


@dataclass(frozen=True, order=True)
class Claimed:
    id: int
    clinic_id: int
    channel: Channel
    policy_version: int
    booking_id: int
    patient_id: int
    lease_expires_at: datetime
    send_at: datetime  # as planned: how late it went out is measured from here


def claim_statement(postgres: bool) -> sa.Update:
    """The claim, built once per dispatcher: the due reminders, oldest first, become this worker's."""
    due = (
        sa.select(Reminder.id)
        .where(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at <= sa.bindparam("now"), ~replans.stale())
        .order_by(Reminder.due_at, Reminder.id)
        .limit(sa.bindparam("limit"))
    )
    if postgres:  # claimers never wait for each other
        due = due.with_for_update(skip_locked=True)
    return (
        sa.update(Reminder)
        .where(Reminder.id.in_(due.scalar_subquery()))
        .values(
            status=ReminderStatus.SENDING,
            lease_expires_at=sa.bindparam("until"),
            claimed_by=sa.bindparam("worker"),
            attempts=Reminder.attempts + 1,
            updated_at=sa.bindparam("now"),
            claimed_at=sa.bindparam("now"),
        )
        .returning(
            Reminder.id,
            Reminder.clinic_id,
            Reminder.channel,
            Reminder.policy_version,
            Reminder.booking_id,
            Reminder.patient_id,
            Reminder.lease_expires_at,
            Reminder.send_at,
        )
    )


_RENEW = (
    sa.update(Reminder)
    .where(
        Reminder.id == sa.bindparam("reminder_id"),
        Reminder.status == ReminderStatus.SENDING,
        Reminder.claimed_by == sa.bindparam("worker"),
        Reminder.lease_expires_at > sa.bindparam("now"),
    )
    .values(lease_expires_at=sa.bindparam("until"))
)


def claim(
    database: Database, statement: sa.Update, now: datetime, limit: int, lease: timedelta, worker_id: str
) -> list[Claimed]:
    """Lease up to ``limit`` due reminders to ``worker_id`` (``statement``: ``claim_statement``'s); committed."""
    with database.connection(write=True) as conn:
        rows = [
            Claimed(*row)
            for row in conn.execute(statement, {"now": now, "limit": limit, "until": now + lease, "worker": worker_id})
        ]
        conn.commit()
    return sorted(rows)


def renew(database: Database, reminder_id: int, worker_id: str, now: datetime, until: datetime) -> None:
    """Extend a claim's lease to ``until`` while it is still ours, so no other worker's reap takes it for a lost
    send (a reminder that waits long for its sending slot: a slow sender, or one waiting its turn here)."""
    with database.connection(write=True) as conn:
        conn.execute(_RENEW, {"reminder_id": reminder_id, "worker": worker_id, "now": now, "until": until})
        conn.commit()


def release(database: Database, reminder_ids: list[int], worker_id: str, now: datetime) -> None:
    """Claimed, never started: back to the queue untouched (this claim was no attempt)."""
    if not reminder_ids:
        return
    with database.writer() as session:
        session.execute(
            sa.update(Reminder)
            .where(
                Reminder.id.in_(reminder_ids),
                Reminder.status == ReminderStatus.SENDING,
                Reminder.claimed_by == worker_id,
            )
            .values(
                status=ReminderStatus.PLANNED,
                claimed_by=None,
                lease_expires_at=None,
                attempts=Reminder.attempts - 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()


def reap(database: Database, now: datetime) -> int:
    """Sends whose worker died or stalled: the lease lapsed with the outcome unknown; returns how many. It
    touches only ``sending`` rows (at most what the workers hold), through the status index."""
    with database.connection(write=True) as conn:
        count = conn.execute(
            sa.update(Reminder)
            .where(Reminder.status == ReminderStatus.SENDING, Reminder.lease_expires_at < now)
            .values(status=ReminderStatus.UNKNOWN, outcome=SendIncident.WORKER_LOST.value, updated_at=now)
        ).rowcount
        conn.commit()
    return count or 0
