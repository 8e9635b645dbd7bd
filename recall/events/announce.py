"""What each kind of event says, built from the row the use case just changed: one line at the call site.

The rows come in duck-typed (``Any``): this package sits beside the areas that call it and imports none of
them. Only ids, external references, statuses, times, channels and amounts go in; never a patient's name,
phone number or any free text (notes, reasons typed by staff, a reply's words).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.events.outbox import emit
from recall.events.types import EventType, Resource, ResourceType


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def booking(session: Session, type: EventType, booking: Any, now: datetime, **extra: Any) -> None:
    data = {
        "external_ref": getattr(booking, "external_ref", None),
        "patient_id": booking.patient_id,
        "provider_id": booking.provider_id,
        "service_id": booking.service_id,
        "status": _value(booking.status),
        "start_at": booking.start_at,
        "end_at": booking.end_at,
        "channel": _value(booking.channel),
        "source": _value(booking.source),
        "recall_task_id": booking.recall_task_id,
        "credited_staff_id": booking.credited_staff_id,
        "credited_role": _value(booking.credited_role),
        **extra,
    }
    emit(session, booking.clinic_id, type, Resource(ResourceType.BOOKING, booking.id), data, now=now)


def task(session: Session, type: EventType, task: Any, now: datetime) -> None:
    data = {
        "patient_id": task.patient_id,
        "reason": _value(task.reason),
        "status": _value(task.status),
        "service_id": task.service_id,
        "provider_id": task.provider_id,
        "due_at": task.due_at,
        "origin_visit_id": task.origin_visit_id,
        "origin_booking_id": task.origin_booking_id,
    }
    if type is EventType.RECALL_TASK_CLOSED:
        data |= {
            "outcome": "won" if _value(task.status) == "won" else "closed",
            "close_reason": _value(task.close_reason),
            "closed_at": task.closed_at,
            "closed_by_id": task.closed_by_id,
            "booking_id": task.booking_id,
        }
    emit(session, task.clinic_id, type, Resource(ResourceType.RECALL_TASK, task.id), data, now=now)


def attempt(session: Session, attempt: Any, now: datetime) -> None:
    data = {
        "recall_task_id": attempt.task_id,
        "patient_id": attempt.patient_id,
        "staff_id": attempt.staff_id,
        "channel": _value(attempt.channel),
        "outcome": _value(attempt.outcome),
        "answered": attempt.answered,
        "started_at": attempt.started_at,
        "ended_at": attempt.ended_at,
        "duration_seconds": attempt.duration_seconds,
        "callback_at": attempt.callback_at,
        "booking_id": attempt.booking_id,
    }
    emit(
        session, attempt.clinic_id, EventType.ATTEMPT_LOGGED, Resource(ResourceType.ATTEMPT, attempt.id), data, now=now
    )


def reminder(db: Session | sa.Connection, type: EventType, reminder: Any, now: datetime) -> None:
    """``reminder``: a Reminder, or a row with the same names (the sender's hot path reads Core rows)."""
    data = {
        "booking_id": reminder.booking_id,
        "patient_id": reminder.patient_id,
        "channel": _value(reminder.channel),
        "status": _value(reminder.status),
        "step_index": reminder.step_index,
        "outcome": reminder.outcome,
        "error_code": reminder.error_code,
    }
    emit(db, reminder.clinic_id, type, Resource(ResourceType.REMINDER, reminder.id), data, now=now)


def patient(session: Session, type: EventType, patient: Any, now: datetime) -> None:
    data = {"external_ref": patient.external_ref, "opted_out": patient.opted_out, "opted_out_at": patient.opted_out_at}
    emit(session, patient.clinic_id, type, Resource(ResourceType.PATIENT, patient.id), data, now=now)


CREDIT_TYPES = {"pending": EventType.CREDIT_PENDING, "earned": EventType.CREDIT_EARNED, "void": EventType.CREDIT_VOID}


def credit(session: Session, entry: Any, now: datetime) -> None:
    """A ledger entry. It is about the booking it credits (``data.entry_id`` names the entry), so a booking's
    events and its credit's reach an endpoint in the order they happened."""
    if entry.id is None:
        session.flush()
    data = {
        "entry_id": entry.id,
        "booking_id": entry.booking_id,
        "staff_id": entry.staff_id,
        "role": _value(entry.role),
        "service_id": entry.service_id,
        "is_recall": entry.is_recall,
        "kind": _value(entry.kind),
        "amount_cents": entry.amount_cents,
        "local_day": entry.local_day,
    }
    kind = CREDIT_TYPES[_value(entry.kind)]
    emit(session, entry.clinic_id, kind, Resource(ResourceType.BOOKING, entry.booking_id), data, now=now)
