"""Edits of a patient that reach past the patient record, so they sit above the patient, the queue and reminders.

Opting out closes the patient's open recall tasks and cancels their reminders that have not gone out, in the
same transaction; a corrected phone number puts their parked tasks back in the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from recall.clinic.clinics import get_clinic
from recall.clinic.patients import Patient, apply_changes, get_patient
from recall.common.actors import STAFF_ROLES, Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict
from recall.events import announce
from recall.events.types import EventType
from recall.queue import tasks as recall_tasks
from recall.reminders.reminders import cancel_waiting


def update_patient(
    session: Session,
    clock: Clock,
    actor: Actor,
    patient_id: int,
    data: dict[str, Any],
) -> Patient:
    """A staff member's edit of a patient, with what it changes beyond the patient; commits. The tasks an
    opt-out closes name the actor as closer (nobody for the system)."""
    actor.require(*STAFF_ROLES, Role.SYSTEM)
    by_staff_id = actor.staff_id
    clinic = get_clinic(session, actor.clinic_id)
    patient = get_patient(session, actor.clinic_id, patient_id, for_update=True)
    if patient.erased_at is not None:
        raise Conflict(f"patient {patient.id} was erased: nothing of theirs is kept to change")
    was_opted_out, old_phone, was_invalid = patient.opted_out, patient.phone_e164, patient.phone_invalid
    now = clock.now()
    apply_changes(patient, data, clinic, now)
    if patient.opted_out and not was_opted_out:
        opt_out(session, patient, now, by_staff_id)
    elif was_opted_out and not patient.opted_out:
        announce.patient(session, EventType.PATIENT_OPTED_IN, patient, now)
    if was_invalid and "phone" in data and patient.phone_e164 != old_phone:
        recall_tasks.unpark(session, patient.id, now)
    elif was_invalid and "phone" in data:
        patient.phone_invalid = True  # the same wrong number again is still wrong
    session.commit()
    return patient


def opt_out(session: Session, patient: Patient, now: datetime, by_staff_id: int | None) -> None:
    """No more contact: the flag, every open recall task of the patient closes, and their reminders that have
    not gone out are cancelled (the caller commits)."""
    patient.opted_out, patient.opted_out_at, patient.updated_at = True, now, now
    announce.patient(session, EventType.PATIENT_OPTED_OUT, patient, now)
    recall_tasks.close_for_opt_out(session, patient.id, now, by_staff_id)
    cancel_waiting(session, now, patient_id=patient.id, reason="opted_out")
