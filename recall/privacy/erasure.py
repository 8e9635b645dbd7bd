"""Erasing a patient: their personal data removed or anonymised everywhere recall keeps it, in one transaction.

What goes: the name (replaced by a placeholder), the phone, the birth date, the zone, the source's identifier (and
the EHR's ids that led to it), every text the patient sent (SMS replies kept on recall tasks) and every note the
staff wrote about them (on attempts, tasks, bookings, visits and reminder calls), and the identifier in the
webhook events still kept about them. The patient is opted out first (open recall work closes, reminders not yet
sent are cancelled), so nobody contacts them again. What stays: the rows that hold no personal data and that pay
and the figures depend on: bookings with their times and statuses, visits, tasks and attempts with their
outcomes, and the credit ledger untouched, so every amount and sum is what it was. The erasure is logged with ids
only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.ehr import EhrResourceId
from recall.clinic.patients import get_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict
from recall.events.tables import OutboxEvent
from recall.events.types import ResourceType
from recall.queue.attempts import ContactAttempt
from recall.queue.tasks import RecallTask
from recall.reminders.patient_edits import opt_out
from recall.reminders.reminders import Reminder
from recall.visits.booking import Booking
from recall.visits.visit import Visit

log = logging.getLogger("recall.privacy")
ERASED_NAME = "(erased)"
# The free texts about a patient, by table: what the patient wrote, and what the staff wrote about them.
TEXTS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (RecallTask, ("request_text", "decline_reason")),
    (ContactAttempt, ("note", "decline_reason")),
    (Booking, ("note", "cancel_reason")),
    (Visit, ("follow_up_note",)),
    (Reminder, ("call_note",)),
)


@dataclass(frozen=True)
class Erasure:
    patient_id: int
    texts_cleared: int  # rows whose free texts were emptied
    events_scrubbed: int  # webhook events whose patient identifier was removed


def erase_patient(session: Session, clock: Clock, actor: Actor, patient_id: int) -> Erasure:
    """Forget a patient of the manager's clinic, in one transaction; commits. An erased patient is a 409."""
    actor.require(Role.MANAGER)
    patient = get_patient(session, actor.clinic_id, patient_id, for_update=True)
    if patient.erased_at is not None:
        raise Conflict(f"patient {patient.id} was erased on {patient.erased_at.date().isoformat()}")
    now = clock.now()
    ref = patient.external_ref
    patient.external_ref = None  # before the opt-out: its event must not carry it either
    if not patient.opted_out:
        opt_out(session, patient, now, actor.staff_id)
    patient.full_name, patient.phone_e164 = ERASED_NAME, ""
    patient.date_of_birth = patient.timezone = None
    patient.consent_sms = patient.consent_voice = patient.consent_call = False
    patient.erased_at = patient.updated_at = now
    cleared = 0
    for model, columns in TEXTS:
        has_text = sa.or_(*(getattr(model, column).is_not(None) for column in columns))
        cleared += _changed(
            session,
            sa.update(model)
            .where(model.patient_id == patient.id, has_text)
            .values({column: None for column in columns})
            .execution_options(synchronize_session=False),
        )
    if ref is not None:
        _changed(
            session,
            sa.delete(EhrResourceId).where(
                EhrResourceId.clinic_id == patient.clinic_id,
                EhrResourceId.resource_type == "Patient",
                EhrResourceId.ref == ref,
            ),
        )
    scrubbed = _scrub_events(session, patient.clinic_id, patient.id)
    session.commit()
    log.info(
        "patient erased",
        extra={"patient_id": patient.id, "clinic_id": patient.clinic_id, "staff_id": actor.staff_id},
    )
    return Erasure(patient_id=patient.id, texts_cleared=cleared, events_scrubbed=scrubbed)


def _scrub_events(session: Session, clinic_id: int, patient_id: int) -> int:
    """The patient's events keep their ids and statuses; the source's identifier in them goes."""
    events = session.scalars(
        sa.select(OutboxEvent).where(
            OutboxEvent.clinic_id == clinic_id,
            OutboxEvent.resource_type == ResourceType.PATIENT.value,
            OutboxEvent.resource_id == patient_id,
        )
    ).all()
    changed = 0
    for event in events:
        body = json.loads(event.payload)
        if isinstance(body.get("data"), dict) and body["data"].get("external_ref") is not None:
            body["data"]["external_ref"] = None
            event.payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            changed += 1
    return changed


def _changed(session: Session, statement: Any) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return cast("sa.CursorResult[Any]", session.execute(statement)).rowcount or 0
