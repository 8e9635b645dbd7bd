"""A Bundle or an NDJSON file into entries: each resource validated, mapped onto its record, or its problems.

Bundles of type transaction, batch, collection, searchset, history and subscription-notification are read; an
NDJSON file holds one resource per line (a bulk export's shape). Every resource is validated with fhir.resources'
R4B models before anything else reads it, so a problem names the element path pydantic found at fault.

``Parsed.to_apply()`` gives the records dependencies first (patients, practitioners, services, appointments,
encounters), each kind in the source's order, so an appointment finds the patient the same file brought.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from integrations.fhir import mapping
from integrations.fhir.problems import MappingError, Problem, validation_problems
from integrations.fhir.references import Lookup, References, ref_of
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

BUNDLE_TYPES = ("transaction", "batch", "collection", "searchset", "history", "subscription-notification")
READ = ("Patient", "Practitioner", "PractitionerRole", "HealthcareService", "Appointment", "Encounter")
# Resources a notification or a search carries besides the data: acknowledged, never imported.
QUIET = frozenset({"SubscriptionStatus", "Parameters", "OperationOutcome", "Bundle"})
ORDER: dict[type, int] = {
    PatientRecord: 0,
    ProviderRecord: 1,
    ServiceRecord: 2,
    AppointmentRecord: 3,
    EncounterRecord: 4,
}
MAX_LINE = 1_000_000  # characters of one NDJSON line


class Unreadable(Exception):
    """The whole file or body is not something to read entries from (not JSON, not a Bundle, a wrong type)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.problem = Problem(path, reason)


@dataclass
class Entry:
    index: int  # the entry's position in the Bundle, or its line number - 1 in NDJSON
    resource_type: str | None = None
    fhir_id: str | None = None
    full_url: str | None = None
    method: str | None = None  # request.method in a transaction or batch
    resource: Any = None  # the validated model
    record: Record | None = None
    problems: list[Problem] = field(default_factory=list)
    ignored: str | None = None  # why an entry that is no problem brings no record
    service: ServiceRecord | None = None  # the service an appointment's or encounter's serviceType names

    @property
    def label(self) -> str:
        name = f"{self.resource_type}/{self.fhir_id}" if self.resource_type and self.fhir_id else self.resource_type
        return f"entry {self.index}" + (f" ({name})" if name else "")


@dataclass
class Parsed:
    bundle_type: str  # the Bundle's type, or 'ndjson'
    entries: list[Entry]

    def to_apply(self) -> list[tuple[Entry | None, Record]]:
        """The records to apply, dependencies first. A service a serviceType named comes once, without an entry
        (None), unless a HealthcareService of the same code is in the file."""
        pairs: list[tuple[Entry | None, Record]] = [(e, e.record) for e in self.entries if e.record is not None]
        named = {r.ref for _e, r in pairs if isinstance(r, ServiceRecord)}
        for entry in self.entries:
            if entry.record is not None and entry.service is not None and entry.service.ref not in named:
                named.add(entry.service.ref)
                pairs.append((None, entry.service))
        return sorted(pairs, key=lambda pair: ORDER[type(pair[1])])

    def landed(self, outcomes: dict[int, EntryOutcome]) -> list[tuple[str, str, str]]:
        """(resource type, FHIR id, ref) of every entry whose record landed, to be found by its id later."""
        return [
            (e.resource_type, e.fhir_id, outcomes[e.index].ref)
            for e in self.entries
            if e.resource_type and e.fhir_id and e.index in outcomes and outcomes[e.index].result is not Result.REFUSED
        ]

    @property
    def problems(self) -> list[Entry]:
        return [e for e in self.entries if e.problems]


def read_path(path: Path, lookup: Lookup | None = None) -> Parsed:
    """A Bundle (.json) or NDJSON (.ndjson, .jsonl) file. ``lookup``: the refs of resources imported before, by
    their FHIR type and id (``references``' rule 3)."""
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        with path.open(encoding="utf-8") as lines:
            return read_ndjson(lines, lookup)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise Unreadable(path.name, f"is not JSON ({error})") from None
    return read_json(data, lookup)


def read_json(data: Any, lookup: Lookup | None = None) -> Parsed:
    """A Bundle, or a single resource (read as a one-entry collection)."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise Unreadable("(root)", "is not a FHIR resource: an object with a resourceType is expected")
    if data["resourceType"] != "Bundle":
        return _finish(Parsed("collection", [_validated(0, data)]), lookup)
    kind = data.get("type")
    if kind not in BUNDLE_TYPES:
        raise Unreadable("Bundle.type", f"{kind!r} is not one of {', '.join(BUNDLE_TYPES)}")
    raw = data.get("entry") or []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise Unreadable("Bundle.entry", "is not a list of entries")
    try:  # the envelope, without the resources: each of those is validated on its own
        shells = [{k: v for k, v in item.items() if k != "resource"} for item in raw]
        envelope = Bundle.model_validate({**data, "entry": shells})
    except ValidationError as error:
        first = validation_problems("Bundle", error.errors(), 1)[0]
        raise Unreadable(first.path, first.reason) from None
    entries: list[Entry] = []
    for index, (item, shell) in enumerate(zip(raw, envelope.entry or [], strict=True)):
        method = shell.request.method if shell.request is not None else None
        if "resource" not in item:
            why = "recall does not delete: send the resource with its new status" if method == "DELETE" else None
            entries.append(Entry(index, full_url=shell.fullUrl, method=method, ignored="no resource"))
            if why:
                entries[-1].problems.append(Problem(f"Bundle.entry[{index}].request", why))
            continue
        entry = _validated(index, item["resource"])
        entry.full_url, entry.method = shell.fullUrl, method
        entries.append(entry)
    return _finish(Parsed(kind, entries), lookup)


def read_ndjson(lines: Iterable[str], lookup: Lookup | None = None) -> Parsed:
    entries: list[Entry] = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            entries.append(Entry(number, problems=[Problem(f"line {number + 1}", "is too long")]))
            continue
        try:
            data = json.loads(line)
        except ValueError as error:
            entries.append(Entry(number, problems=[Problem(f"line {number + 1}", f"is not JSON ({error})")]))
            continue
        entries.append(_validated(number, data))
    return _finish(Parsed("ndjson", entries), lookup)


def _validated(index: int, data: Any) -> Entry:
    kind = data.get("resourceType") if isinstance(data, dict) else None
    entry = Entry(index, resource_type=kind if isinstance(kind, str) else None)
    if entry.resource_type is None:
        entry.problems.append(Problem("resource", "is not a FHIR resource (no resourceType)"))
        return entry
    entry.fhir_id = str(data.get("id"))[:64] if data.get("id") is not None else None
    if entry.resource_type in QUIET:
        entry.ignored = f"a {entry.resource_type} brings no data to import"
        return entry
    try:
        model = get_fhir_model_class(entry.resource_type)
    except ValueError:
        entry.problems.append(Problem(entry.resource_type, "is not a FHIR R4 resource type"))
        return entry
    try:
        entry.resource = model.model_validate(data)
    except ValidationError as error:
        entry.problems.extend(validation_problems(entry.resource_type, error.errors()))
        return entry
    if entry.resource_type not in READ:
        entry.ignored = f"recall reads {', '.join(READ)}; a {entry.resource_type} is not imported"
        entry.resource = None
    return entry


def _finish(parsed: Parsed, lookup: Lookup | None) -> Parsed:
    """Index every valid resource by its references, then map each onto its record."""
    refs = References(lookup)
    for entry in parsed.entries:
        if entry.resource is None:
            continue
        try:
            refs.add(entry.full_url, entry.resource, ref_of(entry.resource))
        except MappingError as error:
            entry.problems.append(error.problem)
            entry.resource = None
    specialties: dict[str, str] = {}
    for entry in parsed.entries:
        if entry.resource_type == "PractitionerRole" and entry.resource is not None:
            _role(entry, refs, specialties)
    for entry in parsed.entries:
        if entry.resource is not None and entry.resource_type != "PractitionerRole":
            try:
                _map(entry, refs, specialties)
            except MappingError as error:
                entry.problems.append(error.problem)
    return parsed


def _role(entry: Entry, refs: References, specialties: dict[str, str]) -> None:
    role, specialty = entry.resource, mapping.role_specialty(entry.resource)
    entry.ignored = "a PractitionerRole gives its practitioner a specialty and is not imported itself"
    if role.practitioner is None or specialty is None:
        return
    try:
        specialties.setdefault(refs.resolve(role.practitioner, "PractitionerRole.practitioner").ref, specialty)
    except MappingError as error:
        entry.problems.append(error.problem)


def _map(entry: Entry, refs: References, specialties: dict[str, str]) -> None:
    resource, kind = entry.resource, entry.resource_type
    if kind == "Patient":
        entry.record = mapping.patient(resource)
    elif kind == "Practitioner":
        entry.record = mapping.practitioner(resource, specialties.get(ref_of(resource)))
    elif kind == "HealthcareService":
        entry.record = mapping.healthcare_service(resource)
    elif kind == "Appointment":
        entry.record, entry.service = mapping.appointment(resource, refs)
    elif kind == "Encounter":
        entry.record, entry.service = mapping.encounter(resource, refs)
