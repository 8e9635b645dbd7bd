"""Applying one record: idempotent by its identifier, all of it or nothing.

``apply_record`` runs the record's use cases in a SAVEPOINT of the caller's transaction
(``session.begin_nested()``), through a session of their own joined to that savepoint
(``join_transaction_mode="create_savepoint"``): the use cases commit as they always do, and each commit only
releases a savepoint inside the record's. A record our rules refuse rolls the record's savepoint back, so it
leaves nothing written (no patient without their booking, no reminder planned for a booking refused); the
caller's transaction goes on with the next record and commits when it chooses.

The actor is a manager, or the system acting for the clinic (an EHR integration, ``Actor.system``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import RecallError
from recall.imports.apply_appointments import RENAMES as APPOINTMENT_FIELDS
from recall.imports.apply_appointments import apply_appointment
from recall.imports.apply_catalog import apply_provider, apply_service
from recall.imports.apply_encounters import RENAMES as ENCOUNTER_FIELDS
from recall.imports.apply_encounters import apply_encounter
from recall.imports.apply_patients import apply_patient
from recall.imports.records import (
    AppointmentRecord,
    EncounterRecord,
    EntryOutcome,
    PatientRecord,
    ProviderRecord,
    Record,
    Result,
    ServiceRecord,
)
from recall.imports.refs import Applied

IMPORTERS = (Role.MANAGER, Role.SYSTEM)
WHOLE_RECORD = "record"  # the field named when a refusal names none

Applier = Callable[[Session, Clock, Actor, Any], Applied]
# kind, applier, and the use cases' field names as the record calls them
APPLIERS: dict[type, tuple[str, Applier, dict[str, str]]] = {
    PatientRecord: ("patient", apply_patient, {}),
    ProviderRecord: ("provider", apply_provider, {}),
    ServiceRecord: ("service", apply_service, {}),
    AppointmentRecord: ("appointment", apply_appointment, APPOINTMENT_FIELDS),
    EncounterRecord: ("encounter", apply_encounter, ENCOUNTER_FIELDS),
}


def kind_of(record: Record) -> str:
    return APPLIERS[type(record)][0]


def apply_record(session: Session, clock: Clock, actor: Actor, record: Record) -> EntryOutcome:
    """Apply one record inside the caller's transaction (the caller commits). Refusals are answered, not raised;
    an actor who may not import raises ``Forbidden``."""
    actor.require(*IMPORTERS)
    kind, applier, renames = APPLIERS[type(record)]
    ref = str(getattr(record, "ref", "") or "")
    savepoint = session.begin_nested()
    work = Session(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        applied = applier(work, clock, actor, record)
        work.commit()
    except RecallError as exc:
        _undo(work, savepoint)
        return refused(kind, ref, _fields(exc.fields, renames) or {WHOLE_RECORD: [exc.message]})
    except IntegrityError:
        _undo(work, savepoint)
        # Our checks ran first; what the constraints still catch is a race: another import of the same record.
        return refused(kind, ref, {"ref": ["another import wrote this record at the same time; import it again"]})
    except DataError:
        _undo(work, savepoint)
        return refused(kind, ref, {WHOLE_RECORD: ["a value does not fit the database's column"]})
    except BaseException:
        _undo(work, savepoint)
        raise
    work.close()
    savepoint.commit()
    return EntryOutcome(kind=kind, ref=ref, result=applied.result, id=applied.id, note=applied.note)


def refused(kind: str, ref: str, errors: dict[str, list[str]]) -> EntryOutcome:
    return EntryOutcome(kind=kind, ref=ref, result=Result.REFUSED, errors=errors)


def _undo(work: Session, savepoint: Any) -> None:
    work.rollback()
    work.close()
    if savepoint.is_active:
        savepoint.rollback()


def _fields(fields: dict[str, list[str]], renames: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, messages in fields.items():
        out.setdefault(renames.get(name, name), []).extend(messages)
    return out
