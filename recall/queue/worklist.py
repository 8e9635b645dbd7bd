"""The recall queue and its overdue list as rows to hand out or file: who, why, since when, and who holds them.

The queue is every task still waiting (open, and parked for a wrong number), in the order operators are given
work (``rank_at``); the overdue list is the open tasks whose due time has passed, the most overdue first, with
the whole days they are overdue. One query each, with the patient, service, provider and holder joined in and
the last attempt read by a correlated subquery, so the cost follows the rows exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.clinic.staff import Staff
from recall.common.timeutil import zone
from recall.queue.attempts import ContactAttempt
from recall.queue.tasks import RecallTask, TaskStatus

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class WorkRow:
    task_id: int
    status: str
    reason: str
    patient_id: int
    patient_name: str
    phone: str
    language: str
    service: str | None
    provider: str | None
    follow_up_date: date | None
    due_local: datetime  # in the clinic's zone
    days_overdue: int | None  # whole days past due; None: not due yet
    attempts: int
    last_attempt_local: datetime | None
    held_by: str | None  # the operator whose lease is live
    callback_for: str | None  # the operator a callback is reserved for, while it holds
    callback_until_local: datetime | None


def queue_rows(session: Session, clinic: Clinic, now: datetime, *, overdue_only: bool = False) -> Iterator[WorkRow]:
    """The clinic's queue at ``now`` (or only its overdue open tasks, the most overdue first)."""
    t = RecallTask
    holder, reserved = aliased(Staff), aliased(Staff)
    last_attempt = (
        sa.select(sa.func.max(ContactAttempt.started_at)).where(ContactAttempt.task_id == t.id).scalar_subquery()
    )
    stmt = (
        sa.select(
            t,
            Patient.full_name,
            Patient.phone_e164,
            Patient.language,
            Service.name,
            Provider.name,
            holder.name,
            reserved.name,
            last_attempt,
        )
        .join(Patient, Patient.id == t.patient_id)
        .outerjoin(Service, Service.id == t.service_id)
        .outerjoin(Provider, Provider.id == t.provider_id)
        .outerjoin(holder, sa.and_(holder.id == t.lease_holder_id, t.lease_expires_at > now))
        .outerjoin(reserved, sa.and_(reserved.id == t.reserved_for_id, t.reserved_until > now))
        .where(t.clinic_id == clinic.id)
    )
    if overdue_only:
        stmt = stmt.where(t.status == TaskStatus.OPEN, t.due_at <= now).order_by(t.due_at, t.id)
    else:
        stmt = stmt.where(t.status.in_((TaskStatus.OPEN, TaskStatus.PARKED))).order_by(t.rank_at, t.id)
    local = zone(clinic.timezone)
    for task, name, phone, language, service, provider, held_by, callback_for, last in session.execute(stmt):
        overdue = int((now - task.due_at).total_seconds() // DAY_SECONDS) if task.due_at <= now else None
        yield WorkRow(
            task_id=task.id,
            status=task.status.value,
            reason=task.reason.value,
            patient_id=task.patient_id,
            patient_name=name,
            phone=phone,
            language=language.value,
            service=service,
            provider=provider,
            follow_up_date=task.follow_up_date,
            due_local=task.due_at.astimezone(local),
            days_overdue=overdue,
            attempts=task.attempt_count,
            last_attempt_local=last.astimezone(local) if last is not None else None,
            held_by=held_by,
            callback_for=callback_for,
            callback_until_local=task.reserved_until.astimezone(local)
            if callback_for and task.reserved_until
            else None,
        )
