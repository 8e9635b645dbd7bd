"""Everything recall holds about one patient, as one JSON-ready document (a manager answers a patient's request).

The document has the patient's own data, and every booking, visit, recall task, contact attempt and reminder
about them, with the staff's notes (the patient may see what was written about them). Staff are named by id only;
the credit ledger is the staff's pay, not the patient's data, and stays out.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.patients import get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.queue.attempts import ContactAttempt
from recall.queue.tasks import RecallTask
from recall.reminders.reminders import Reminder
from recall.visits.booking import Booking
from recall.visits.visit import Visit

PATIENT_FIELDS = (
    "id", "full_name", "phone_e164", "language", "timezone", "date_of_birth", "external_ref", "consent_sms",
    "consent_voice", "consent_call", "opted_out", "opted_out_at", "phone_invalid", "created_at", "updated_at",
)  # fmt: skip
ROWS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "bookings": (Booking, ("id", "start_at", "end_at", "status", "channel", "source", "provider_id", "service_id",
                           "note", "cancel_reason", "created_at")),
    "visits": (Visit, ("id", "status", "checked_in_at", "checked_out_at", "provider_id", "service_id", "follow_up",
                       "follow_up_date", "follow_up_note")),
    "recall_tasks": (RecallTask, ("id", "reason", "status", "due_at", "created_at", "closed_at", "close_reason",
                                  "decline_reason", "request_text")),
    "contact_attempts": (ContactAttempt, ("id", "task_id", "channel", "outcome", "started_at", "ended_at", "note",
                                          "decline_reason", "callback_at")),
    "reminders": (Reminder, ("id", "booking_id", "channel", "status", "send_at", "outcome", "call_note")),
}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def export_patient(session: Session, clock: Clock, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The patient's document; a manager's (another clinic's patient is not found)."""
    actor.require(Role.MANAGER)
    patient = get_patient(session, actor.clinic_id, patient_id)
    document: dict[str, Any] = {
        "exported_at": clock.now().isoformat(),
        "clinic_id": patient.clinic_id,
        "patient": {name: _plain(getattr(patient, name)) for name in PATIENT_FIELDS},
    }
    for key, (model, fields) in ROWS.items():
        rows = session.scalars(sa.select(model).where(model.patient_id == patient.id).order_by(model.id))
        document[key] = [{name: _plain(getattr(row, name)) for name in fields} for row in rows]
    return document
