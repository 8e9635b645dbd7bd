"""Finding our rows by the source's identifiers (``external_ref``), and the checks every record's text passes.

A reference to a record we do not hold is the record's fault, named by its field (``patient_ref``), never a
404: the importer reports it beside the entry and goes on with the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.patients import Patient
from recall.clinic.staff import Staff
from recall.common.errors import ValidationError
from recall.imports.records import Result
from recall.visits.booking import Booking
from recall.visits.visit import Visit

REF_LENGTH = 64  # external_ref's column

Row = TypeVar("Row", Patient, Provider, Service, Booking, Visit, Staff)


@dataclass(frozen=True)
class Applied:
    """What an applier did: the result, our row's id, and why it did less than the record says (if it did)."""

    result: Result
    id: int | None = None
    note: str | None = None


def check_ref(ref: object, field: str = "ref") -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError("an identifier is required", field=field)
    text = ref.strip()
    if len(text) > REF_LENGTH:
        raise ValidationError(f"an identifier is at most {REF_LENGTH} characters", field=field)
    return checked_text(text, REF_LENGTH, field)


def checked_text(value: str, limit: int, field: str) -> str:
    """Text as a column stores it: no NUL (PostgreSQL refuses it) and at most ``limit`` characters."""
    if "\x00" in value:
        raise ValidationError("must not contain a NUL character", field=field)
    if len(value) > limit:
        raise ValidationError(f"is at most {limit} characters", field=field)
    return value


# One statement per model, built once: building a statement cost more than running it, four times a record.
_BY_REF: dict[type, sa.Select[Any]] = {
    model: sa.select(model).where(
        model.clinic_id == sa.bindparam("clinic_id"), model.external_ref == sa.bindparam("ref")
    )
    for model in (Patient, Provider, Service, Booking, Visit, Staff)
}


def by_ref(session: Session, model: type[Row], clinic_id: int, ref: str) -> Row | None:
    found: Row | None = session.scalar(_BY_REF[model], {"clinic_id": clinic_id, "ref": ref})
    return found


def required(session: Session, model: type[Row], clinic_id: int, ref: str, field: str, what: str) -> Row:
    """The row the record refers to, or a refusal naming the field."""
    found = by_ref(session, model, clinic_id, check_ref(ref, field))
    if found is None:
        raise ValidationError(f"no {what} with the identifier '{ref}' in this clinic; import it first", field=field)
    return found


def optional(session: Session, model: type[Row], clinic_id: int, ref: str | None, field: str, what: str) -> Row | None:
    return None if ref is None or not str(ref).strip() else required(session, model, clinic_id, ref, field, what)


def staff_member(session: Session, clinic_id: int, ref: str, field: str = "booked_by_ref") -> Staff:
    """A staff member named by the source: their external_ref, or their e-mail (case aside)."""
    text = check_ref(ref, field)
    member = by_ref(session, Staff, clinic_id, text)
    if member is None and "@" in text:
        member = session.scalar(
            sa.select(Staff).where(Staff.clinic_id == clinic_id, sa.func.lower(Staff.email) == text.lower())
        )
    if member is None:
        raise ValidationError(f"no staff member with the identifier or e-mail '{text}' in this clinic", field=field)
    return member
