"""Patients from the source: created or updated through ``recall.clinic.patients`` and the patient edit use case.

The phone is parsed against the clinic's region by the same code as the API's (a number that is not one is
refused on ``phone``); a language tag is read by its first part ('pl-PL' is Polish) and one we do not speak is
English, the language every clinic has. Fields the record leaves empty (birth date, zone, language) keep what
we hold. A record that says what we hold already writes nothing (``updated_at`` stays).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from recall.clinic.clinics import get_clinic
from recall.clinic.patients import Language, Patient, create_patient
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.phones import to_e164
from recall.common.timeutil import validate_zone
from recall.imports.records import PatientRecord, Result
from recall.imports.refs import Applied, by_ref, check_ref, checked_text
from recall.reminders.patient_edits import update_patient

NAME_LENGTH = 200
DEFAULT_LANGUAGE = Language.EN  # no clinic has another default language today


def language_of(tag: str | None) -> Language | None:
    """'pl-PL', 'pl_PL', 'PL' -> Polish; a language we do not speak -> English; nothing -> None (not said)."""
    if tag is None or not str(tag).strip():
        return None
    primary = str(tag).strip().replace("_", "-").split("-")[0].lower()
    try:
        return Language(primary)
    except ValueError:
        return DEFAULT_LANGUAGE


def apply_patient(session: Session, clock: Clock, actor: Actor, record: PatientRecord) -> Applied:
    ref = check_ref(record.ref)
    clinic = get_clinic(session, actor.clinic_id)
    name = checked_text(str(record.full_name or "").strip(), NAME_LENGTH, "full_name")
    data: dict[str, Any] = {"full_name": name, "phone": record.phone}
    language = language_of(record.language)
    if record.timezone:
        data["timezone"] = validate_zone(record.timezone)
    if record.date_of_birth is not None:
        data["date_of_birth"] = record.date_of_birth
    patient = by_ref(session, Patient, clinic.id, ref)
    if patient is None:
        data |= {"language": (language or DEFAULT_LANGUAGE).value, "external_ref": ref}
        return Applied(Result.CREATED, create_patient(session, clock, actor, data).id)
    changes = {key: value for key, value in data.items() if value != _held(patient, key, clinic.phone_region, value)}
    if language is not None and language is not patient.language:
        changes["language"] = language.value
    if not changes:
        return Applied(Result.UNCHANGED, patient.id)
    update_patient(session, clock, actor, patient.id, changes)
    return Applied(Result.UPDATED, patient.id)


def _held(patient: Patient, key: str, region: str, given: Any) -> Any:
    """What we hold for ``key``, in the form the record gives it (the phone compared as E.164)."""
    if key == "phone":
        return given if to_e164(given, region) == patient.phone_e164 else None
    return getattr(patient, key)
