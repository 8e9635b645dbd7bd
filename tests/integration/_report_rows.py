"""Rows for the report tests, written straight into the tables: a task, its attempts, the booking it made.

Reports read history, and history at midnight or across a DST change cannot be made through the use cases
(calling hours would not hand out the work), so these write exactly the columns the reports read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recall.clinic.clinics import get_clinic
from recall.common.db import Database
from recall.queue.attempts import ANSWERED, AttemptChannel, ContactAttempt, Outcome, note_callbacks
from recall.queue.task_facts import note_attempt
from recall.queue.tasks import RecallTask, TaskReason, open_task
from recall.visits.booking import Booking, BookingStatus, Channel, Source
from tests.factories import ClinicWorld

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(month: int, day: int, hhmm: str) -> datetime:
    """A wall-clock time in Stockholm in 2026, as UTC."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=STOCKHOLM).astimezone(UTC)


def task(
    database: Database,
    cw: ClinicWorld,
    *,
    created: datetime,
    due: datetime | None = None,
    reason: TaskReason = TaskReason.UNDECIDED,
    service: bool = True,
    **attrs: Any,
) -> int:
    with database.writer() as s:
        t = open_task(
            s,
            clinic=get_clinic(s, cw.clinic.id),
            patient_id=cw.patients[0].id,
            reason=reason,
            due_at=due or created,
            now=created,
            follow_up_date=None,
            service_id=cw.services[0].id if service else None,
            provider_id=None,
        )
        for name, value in attrs.items():
            setattr(t, name, value)
        s.commit()
        return t.id


def attempt(
    database: Database,
    task_id: int,
    staff_id: int,
    start: datetime,
    outcome: Outcome = Outcome.NO_ANSWER,
    *,
    minutes: int = 5,
    callback_at: datetime | None = None,
) -> None:
    with database.writer() as s:
        t = s.get(RecallTask, task_id)
        assert t is not None
        follows = note_callbacks(s, t, start, outcome)  # as log_attempt keeps them, before note_attempt
        s.add(
            ContactAttempt(
                clinic_id=t.clinic_id,
                task_id=task_id,
                patient_id=t.patient_id,
                staff_id=staff_id,
                channel=AttemptChannel.PHONE,
                outcome=outcome,
                answered=outcome in ANSWERED,
                started_at=start,
                ended_at=start + timedelta(minutes=minutes),
                duration_seconds=minutes * 60,
                callback_at=callback_at,
                next_attempt_at=follows,
            )
        )
        note_attempt(t, staff_id, start, outcome in ANSWERED)  # as log_attempt keeps them
        s.commit()


def booking(database: Database, cw: ClinicWorld, task_id: int, start: datetime, status: BookingStatus) -> int:
    """The booking a task was won with, linked both ways, made when the task closed."""
    with database.writer() as s:
        t = s.get(RecallTask, task_id)
        assert t is not None and t.closed_at is not None
        b = Booking(
            clinic_id=t.clinic_id,
            patient_id=t.patient_id,
            service_id=cw.services[0].id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            status=status,
            channel=Channel.PHONE,
            source=Source.RECALL_TASK,
            recall_task_id=task_id,
            created_at=t.closed_at,
            updated_at=t.closed_at,
        )
        s.add(b)
        s.flush()
        t.booking_id = b.id
        s.commit()
        return b.id
