"""A problem found in one entry: the FHIR element at fault (``Appointment.participant[0].actor``) and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    path: str  # the FHIR element path, rooted at the resource type ('Patient.telecom'); 'Bundle.entry[3]' above it
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class MappingError(Exception):
    """A resource that is valid FHIR but not something recall can take (a missing phone, an unmapped status)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.problem = Problem(path, reason)


def element_path(root: str, loc: Iterable[Any]) -> str:
    """``('participant', 0, 'actor')`` under ``Appointment`` as ``Appointment.participant[0].actor``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("", "__root__"):
            path += f".{part}"
    return path


def validation_problems(root: str, errors: Iterable[Mapping[str, Any]], most: int = 10) -> list[Problem]:
    """pydantic's errors (``ValidationError.errors()``) as problems at their element paths."""
    found: list[Problem] = []
    for error in errors:
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        found.append(Problem(element_path(root, error.get("loc", ())), message))
        if len(found) >= most:
            break
    return found or [Problem(root, "is not a valid FHIR resource")]
