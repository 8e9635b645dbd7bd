"""What an operator's desk reads beside the claim: the patient they hold right now, the outcomes a task may
end with and the fields each needs, and their callbacks of a day.

Reads only; the claim itself, renewing, releasing and logging attempts are ``claims`` and ``attempts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor, Role
from recall.common.errors import NotFound
from recall.common.timeutil import at_local
from recall.queue.attempts import NEEDS, SERVICE_OUTCOMES, Outcome
from recall.queue.claims import Claim
from recall.queue.surge import surge_status
from recall.queue.tasks import SERVICE_REASONS, RecallTask, TaskReason, TaskStatus


def _off_the_queue_index(session: Session) -> Any:
    """``clinic_id`` for a filter on one person's tasks. SQLite's planner, without statistics, takes the index
    with more equal columns (``ix_recall_tasks_queue``: every open task of the clinic) over the person's own
    (a handful of rows); "+clinic_id" keeps it on the person's index, as claim_statements.candidates_stmt does."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.literal_column("+recall_tasks.clinic_id")
    return RecallTask.clinic_id


def held_claim(session: Session, clinic: Clinic, actor: Actor, now: datetime) -> Claim:
    """The claim the caller holds now: every open task under their live lease, of one patient (a claim hands
    out a patient), in the claim's order (service calls first, then by rank). ``task`` is None when they hold
    nothing."""
    actor.require(Role.OPERATOR, Role.MANAGER)
    tasks = list(
        session.scalars(
            sa.select(RecallTask)
            .where(
                _off_the_queue_index(session) == clinic.id,
                RecallTask.status == TaskStatus.OPEN,
                RecallTask.lease_holder_id == actor.member_id,
                RecallTask.lease_expires_at > now,
            )
            .order_by(RecallTask.lease_expires_at.desc(), RecallTask.id)
        )
    )
    surge = surge_status(session, clinic, now)
    if not tasks:
        return Claim(None, surge)
    patient_id = tasks[0].patient_id  # the latest claim's patient, should an older lease linger
    mine = sorted(
        (t for t in tasks if t.patient_id == patient_id),
        key=lambda t: (t.reason not in SERVICE_REASONS, t.rank_at, t.id),
    )
    return Claim(mine[0], surge, 0, tuple(mine))


def outcomes_for(reason: TaskReason) -> tuple[Outcome, ...]:
    """The outcomes an attempt on a task of this reason may have: confirm, cancel, reschedule and resolve
    only end a service call (a reminder call, a patient's request)."""
    if reason in SERVICE_REASONS:
        return tuple(Outcome)
    return tuple(o for o in Outcome if o not in SERVICE_OUTCOMES)


def fields_for(outcome: Outcome) -> frozenset[str]:
    """The fields an attempt of ``outcome`` carries beside its note: a decline's reason, a callback's time,
    a booking (to make, or a reschedule's new time)."""
    return frozenset(name for name, outcomes in NEEDS.items() if outcome in outcomes)


@dataclass(frozen=True)
class Callback:
    task: RecallTask
    patient_name: str
    phone: str
    patient_zone: str


def callbacks_due(session: Session, clinic: Clinic, staff_id: int, day: date) -> list[Callback]:
    """The callbacks reserved for ``staff_id`` that fall due on ``day`` (the clinic's local day), soonest
    first, with whom to call."""
    start = at_local(day, 0, clinic.timezone)
    end = at_local(day + timedelta(days=1), 0, clinic.timezone)
    rows = session.execute(
        sa.select(RecallTask, Patient.full_name, Patient.phone_e164, Patient.timezone)
        .join(Patient, Patient.id == RecallTask.patient_id)
        .where(
            _off_the_queue_index(session) == clinic.id,
            RecallTask.status == TaskStatus.OPEN,
            RecallTask.reserved_for_id == staff_id,
            RecallTask.due_at >= start,
            RecallTask.due_at < end,
        )
        .order_by(RecallTask.due_at, RecallTask.id)
    ).all()
    return [Callback(task, name, phone, zone or clinic.timezone) for task, name, phone, zone in rows]


def patient_zone(session: Session, clinic: Clinic, task_id: int) -> str:
    """The zone a task's patient lives in (the clinic's when unknown): their callback times are typed in it.
    NotFound for a task of another clinic."""
    row = session.execute(
        sa.select(Patient.timezone)
        .join(RecallTask, RecallTask.patient_id == Patient.id)
        .where(RecallTask.id == task_id, RecallTask.clinic_id == clinic.id)
    ).first()
    if row is None:
        raise NotFound("recall task", task_id)
    return row[0] or clinic.timezone
