"""The FHIR fixtures (tests/fixtures/fhir, written as our own in the shape of the specification's examples) and
Bundles built from them or generated, for the FHIR tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
APPOINTMENT_STATUSES = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow")
EXT = "https://recall.example/fhir/StructureDefinition/"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def bundle(resources: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    """A Bundle of ``resources``, each entry with a fullUrl and (for a transaction or batch) a PUT request."""
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": f"https://ehr.example/fhir/{resource['resourceType']}/{resource['id']}",
            "resource": copy.deepcopy(resource),
        }
        if kind in ("transaction", "batch"):
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def clinic_resources() -> list[dict[str, Any]]:
    """Two patients, two practitioners (one with a PractitionerRole), a service, and an appointment in each
    mapped status, listed with the dependants first, as an EHR may send them."""
    return [
        *(fixture(f"appointment-{s}") for s in APPOINTMENT_STATUSES),
        fixture("practitioner-role"),
        fixture("patient"),
        fixture("patient-sv"),
        fixture("practitioner"),
        fixture("practitioner-ent"),
        fixture("healthcare-service"),
    ]


def appointment(number: int, *, start: str, status: str = "booked", patient: str = "Patient/pat-1") -> dict[str, Any]:
    """An appointment of the booked fixture's shape, with its own identifier and time."""
    data = fixture("appointment-booked")
    data["id"] = f"gen-{number}"
    data["identifier"] = [{"system": "http://example.org/sampleappointment-identifier", "value": f"GEN-{number}"}]
    data["status"] = status
    data["start"], data["end"] = start, start.replace(":00:00", ":20:00", 1)
    data["participant"][0]["actor"]["reference"] = patient
    data.pop("extension", None)
    return data


def many_appointments(count: int, patients: int = 100) -> dict[str, Any]:
    """A transaction Bundle of ``patients`` patients and ``count`` booked appointments shared among them, none
    overlapping another of the same patient's, from the day after the tests' T0 on."""
    resources: list[dict[str, Any]] = []
    for p in range(patients):
        resources.append(
            {
                "resourceType": "Patient",
                "id": f"bulk-{p}",
                "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": f"BULK-{p}"}],
                "name": [{"given": ["Patient"], "family": f"Number {p}"}],
                "telecom": [{"system": "phone", "value": f"+4670{p:07d}"}],
            }
        )
    for n in range(count):
        day, hour = divmod(n // patients, 10)  # each patient's appointments: ten a day, an hour apart
        assert day < 28, "more appointments than four weeks of March hold"
        start = f"2026-03-{3 + day:02d}T{8 + hour:02d}:00:00+01:00"
        data = appointment(n, start=start, patient=f"Patient/bulk-{n % patients}")
        data["participant"] = data["participant"][:1]
        resources.append(data)
    return bundle(resources)
