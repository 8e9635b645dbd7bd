"""What becomes a record's ``ref`` (our ``external_ref``) and how a FHIR reference finds the record it names.

The rule, for every resource recall reads:

1. A resource's ref is the ``value`` of its first ``identifier`` that has one (an MRN, the EHR's appointment
   number); a resource without one gets ``<ResourceType>/<id>`` (``Patient/123``). A service named by a code
   (``Appointment.serviceType``, ``HealthcareService.type``) has the code as its ref: see ``mapping``.
2. A reference (``Patient/123``, an absolute URL ending in ``Patient/123``, or a ``urn:uuid:`` fullUrl) to a
   resource in the same Bundle or file resolves to that resource's ref, found by its ``fullUrl`` or by its
   ``<type>/<id>``. A ``PractitionerRole`` resolves to its practitioner.
3. Otherwise a reference carrying ``identifier.value`` resolves to that value; a relative or absolute
   ``<type>/<id>`` to the ref the resource of that type and id landed under before (recall keeps the EHR's ids
   of what it imported: ``lookup``), else to ``<type>/<id>`` itself (what rule 1 makes of a resource without
   identifiers). A ``urn:uuid:`` nobody in the Bundle has is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.fhir.problems import MappingError

MAX_REF = 64  # our external_ref column's length
_TYPED = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def ref_of(resource: Any) -> str:
    """Rule 1: the first identifier's value, else ``<ResourceType>/<id>``."""
    for identifier in getattr(resource, "identifier", None) or []:
        if identifier.value and identifier.value.strip():
            return checked(identifier.value.strip(), f"{resource.get_resource_type()}.identifier")
    if resource.id:
        return f"{resource.get_resource_type()}/{resource.id}"
    raise MappingError(f"{resource.get_resource_type()}.identifier", "has no identifier and the resource no id")


def checked(ref: str, path: str) -> str:
    if len(ref) > MAX_REF:
        raise MappingError(path, f"is longer than {MAX_REF} characters")
    return ref


def typed_key(text: str) -> tuple[str, str] | None:
    """``("Patient", "123")`` from ``Patient/123``, ``https://ehr/fhir/Patient/123`` or ``.../_history/2``."""
    match = _TYPED.search(text)
    return (match.group(1), match.group(2)) if match else None


# The ref a resource of the EHR's (type, id) landed under before, if any: the caller's memory of past imports.
Lookup = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Target:
    resource_type: str | None  # None: a reference by identifier alone, its type unsaid
    ref: str


@dataclass
class _Known:
    resource_type: str
    ref: str
    practitioner: Any = None  # a PractitionerRole's practitioner reference, resolved when asked for


class References:
    """The resources of one Bundle or file, by fullUrl and by ``<type>/<id>``."""

    def __init__(self, lookup: Lookup | None = None) -> None:
        self._known: dict[str, _Known] = {}
        self._lookup = lookup

    def add(self, full_url: str | None, resource: Any, ref: str) -> None:
        kind = resource.get_resource_type()
        known = _Known(kind, ref, getattr(resource, "practitioner", None) if kind == "PractitionerRole" else None)
        if full_url:
            self._known[full_url] = known
            typed = typed_key(full_url)
            if typed is not None and typed[0] == kind:
                self._known.setdefault(f"{typed[0]}/{typed[1]}", known)
        if resource.id:
            self._known.setdefault(f"{kind}/{resource.id}", known)

    def resolve(self, reference: Any, path: str, *, depth: int = 0) -> Target:
        """Rules 2 and 3 for one ``Reference``; a ``MappingError`` at ``path`` when it names nothing findable."""
        text = (reference.reference or "").strip()
        typed = typed_key(text) if text else None
        if text:
            known = self._known.get(text)
            if known is None and typed is not None:
                known = self._known.get(f"{typed[0]}/{typed[1]}")
            if known is not None:
                if known.resource_type == "PractitionerRole" and known.practitioner is not None and depth == 0:
                    return self.resolve(known.practitioner, f"{path} (PractitionerRole.practitioner)", depth=1)
                return Target(known.resource_type, known.ref)
        identifier = reference.identifier
        if identifier is not None and identifier.value and identifier.value.strip():
            return Target(reference.type or (typed[0] if typed else None), checked(identifier.value, path))
        if typed is not None:
            earlier = self._lookup(typed[0], typed[1]) if self._lookup is not None else None
            return Target(typed[0], earlier or f"{typed[0]}/{typed[1]}")
        if text:
            raise MappingError(path, f"refers to {text[:100]!r}, which is not in the Bundle, and has no identifier")
        raise MappingError(path, "has neither a reference nor an identifier")
