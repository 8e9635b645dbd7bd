"""Rows written directly for the queue's reports (tasks and attempts), and times in the clinic's zone.

Europe/Stockholm: CET (UTC+1) until 2026-03-29 01:00 UTC, CEST (UTC+2) after.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from recall.clinic.clinics import get_clinic
from recall.common.actors import Actor
from recall.common.db import Database
from recall.queue.attempts import AttemptChannel, ContactAttempt, Outcome
from recall.queue.claim_statements import take_patient
from recall.queue.tasks import RecallTask, TaskReason, open_task
from tests.factories import World

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(day: int, hhmm: str, month: int = 3) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=STOCKHOLM).astimezone(UTC)


def add_task(
    database: Database,
    world: World,
    *,
    due: datetime,
    created: datetime | None = None,
    patient_id: int | None = None,
    service: int | None = None,
    cw: str = "a",
    **attrs: Any,
) -> int:
    """An open task written directly, with any of its columns then set by hand."""
    side = getattr(world, cw)
    with database.writer() as s:
        task = open_task(
            s,
            clinic=get_clinic(s, side.clinic.id),
            patient_id=patient_id or side.patients[0].id,
            reason=TaskReason.UNDECIDED,
            due_at=due,
            now=created or due,
            follow_up_date=None,
            service_id=side.services[service].id if service is not None else None,
            provider_id=None,
        )
        for name, value in attrs.items():
            setattr(task, name, value)
        if attrs.get("lease_holder_id") is not None:  # a lease names the holder of the patient's claim row
            assert take_patient(s, task.patient_id, attrs["lease_holder_id"], due)
        s.commit()
        return task.id


def add_attempt(
    database: Database, task_id: int, staff: Actor, start: datetime, end: datetime, outcome: Outcome = Outcome.NO_ANSWER
) -> None:
    with database.writer() as s:
        task = s.get(RecallTask, task_id)
        assert task is not None
        s.add(
            ContactAttempt(
                clinic_id=task.clinic_id,
                task_id=task_id,
                patient_id=task.patient_id,
                staff_id=staff.staff_id,
                channel=AttemptChannel.PHONE,
                outcome=outcome,
                answered=outcome not in (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER),
                started_at=start,
                ended_at=end,
                duration_seconds=int((end - start).total_seconds()),
            )
        )
        s.commit()


def figures(row: Any, *names: str) -> tuple[Any, ...]:
    """A report row's named figures, to compare with the hand-worked ones in one assert."""
    return tuple(getattr(row, name) for name in names)
