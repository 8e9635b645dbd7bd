"""A parsed Bundle's records through the import engine, in one transaction: each record in a savepoint of its
own (``apply_record``), so a refused one leaves nothing and the others land."""

from __future__ import annotations

import json
from typing import Any

import flask_smorest
from sqlalchemy.orm import Session

from integrations.fhir.reading import Parsed, Unreadable, read_json
from recall.clinic.ehr import known_ref, remember_refs
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.errors import ValidationError
from recall.imports.apply import apply_record
from recall.imports.records import EntryOutcome


def parse_body(body: bytes, session: Session, clinic_id: int) -> Parsed:
    """A request's body as a Bundle (or one resource); what is not one is a 422 naming ``body``. A reference by
    the EHR's id alone finds what landed under that id before."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        flask_smorest.abort(400, messages={"json": {"body": ["is not valid JSON"]}})
    try:
        return read_json(data, lambda kind, fhir_id: known_ref(session, clinic_id, kind, fhir_id))
    except Unreadable as error:
        raise ValidationError(str(error.problem), field="body") from None


def apply_entries(session: Session, clock: Clock, actor: Actor, parsed: Parsed) -> dict[int, EntryOutcome]:
    """Apply every record, dependencies first, and commit once; the outcomes by the entry's index."""
    outcomes: dict[int, EntryOutcome] = {}
    for entry, record in parsed.to_apply():
        outcome = apply_record(session, clock, actor, record)
        if entry is not None:
            outcomes[entry.index] = outcome
    remember_refs(session, actor.clinic_id, parsed.landed(outcomes))
    session.commit()
    return outcomes
