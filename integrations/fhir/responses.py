"""The answer to a transaction or batch Bundle: a transaction-response or batch-response Bundle, one entry per
entry sent and in its order, each with a ``response.status`` and, for what was refused or skipped, an
OperationOutcome naming the element (``expression``) and the reason (``diagnostics``).

| what happened | status | location |
|---|---|---|
| the record was created | 201 Created | ``<ResourceType>/<our id>`` |
| updated, or nothing changed | 200 OK | ``<ResourceType>/<our id>`` |
| not valid FHIR | 400 Bad Request | |
| valid, but refused (a mapping or one of our rules) | 422 Unprocessable Entity | |
| nothing to import (a SubscriptionStatus, a resource recall does not read) | 200 OK (information) | |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.fhir import mapping
from integrations.fhir.problems import Problem
from integrations.fhir.reading import Entry, Parsed
from recall.imports.records import EntryOutcome, Result

# The fields of our records in FHIR's words, for the outcome of a record our rules refused.
ELEMENTS: dict[str, dict[str, str]] = {
    "Patient": {
        "ref": "Patient.identifier",
        "full_name": "Patient.name",
        "phone": "Patient.telecom",
        "language": "Patient.communication",
        "date_of_birth": "Patient.birthDate",
        "timezone": f"Patient.extension({mapping.TIMEZONE})",
    },
    "Practitioner": {
        "ref": "Practitioner.identifier",
        "name": "Practitioner.name",
        "specialty": "Practitioner.qualification",
    },
    "HealthcareService": {"ref": "HealthcareService.type", "name": "HealthcareService.name"},
    "Appointment": {
        "ref": "Appointment.identifier",
        "patient_ref": "Appointment.participant",
        "provider_ref": "Appointment.participant",
        "service_ref": "Appointment.serviceType",
        "start_at": "Appointment.start",
        "end_at": "Appointment.end",
        "state": "Appointment.status",
        "status": "Appointment.status",
        "booked_by_ref": f"Appointment.extension({mapping.BOOKED_BY})",
        "channel": f"Appointment.extension({mapping.BOOKING_CHANNEL})",
        "cancel_reason": "Appointment.cancelationReason",
    },
    "Encounter": {
        "ref": "Encounter.identifier",
        "patient_ref": "Encounter.subject",
        "appointment_ref": "Encounter.appointment",
        "started_at": "Encounter.period.start",
        "ended_at": "Encounter.period.end",
        "provider_ref": "Encounter.participant",
        "service_ref": "Encounter.serviceType",
    },
}
# An outcome's kind as the FHIR resource type it came from.
KIND_TYPES = {
    "patient": "Patient",
    "provider": "Practitioner",
    "service": "HealthcareService",
    "appointment": "Appointment",
    "encounter": "Encounter",
}
STATUS = {Result.CREATED: "201 Created", Result.UPDATED: "200 OK", Result.UNCHANGED: "200 OK"}


def outcome_problems(resource_type: str, outcome: EntryOutcome) -> list[Problem]:
    """A refused record's errors at the FHIR elements they came from."""
    names = {"record": resource_type, **ELEMENTS.get(resource_type, {})}
    found = [
        Problem(names.get(name, f"{resource_type} ({name})"), message)
        for name, messages in outcome.errors.items()
        for message in messages
    ]
    return found or [Problem(resource_type, "was refused")]


def operation_outcome(problems: list[Problem], *, severity: str = "error", code: str = "processing") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": code, "diagnostics": p.reason, "expression": [p.path]} for p in problems
        ],
    }


def entry_response(entry: Entry, outcome: EntryOutcome | None) -> dict[str, Any]:
    if entry.problems:
        invalid = entry.resource is None  # fhir.resources refused it: not valid FHIR
        return {
            "status": "400 Bad Request" if invalid else "422 Unprocessable Entity",
            "outcome": operation_outcome(entry.problems, code="invalid" if invalid else "processing"),
        }
    if outcome is None or entry.ignored:
        why = entry.ignored or "nothing to import"
        return {
            "status": "200 OK",
            "outcome": operation_outcome(
                [Problem(entry.resource_type or "resource", why)], severity="information", code="informational"
            ),
        }
    if outcome.result is Result.REFUSED:
        return {
            "status": "422 Unprocessable Entity",
            "outcome": operation_outcome(outcome_problems(entry.resource_type or "", outcome), code="business-rule"),
        }
    answer: dict[str, Any] = {"status": STATUS[outcome.result]}
    if outcome.id is not None:
        answer["location"] = f"{entry.resource_type}/{outcome.id}"
    if outcome.note:  # accepted, but it did less than it says (a proposed appointment books nothing yet)
        note = Problem(entry.resource_type or "resource", outcome.note)
        answer["outcome"] = operation_outcome([note], severity="information", code="informational")
    return answer


def response_bundle(parsed: Parsed, outcomes: Mapping[int, EntryOutcome]) -> dict[str, Any]:
    """``outcomes``: what applying each entry's record answered, by the entry's index."""
    kind = "transaction-response" if parsed.bundle_type == "transaction" else "batch-response"
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"response": entry_response(e, outcomes.get(e.index))} for e in parsed.entries],
    }
