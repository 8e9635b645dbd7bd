"""Patients: E.164 phone, preferred language, contact consent per channel, opt-out."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.clinics import Clinic, get_clinic
from recall.common.actors import STAFF_ROLES, Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime, by_id_in_clinic, enum_column_type
from recall.common.errors import NotFound, ValidationError
from recall.common.phones import to_e164
from recall.common.timeutil import local_day, validate_zone


class Language(str, enum.Enum):
    EN = "en"
    PL = "pl"
    RU = "ru"
    SV = "sv"
    ZH = "zh"


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    full_name: Mapped[str] = mapped_column(sa.String(200))
    phone_e164: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[Language] = mapped_column(enum_column_type(Language, "patient_language"))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))
    consent_sms: Mapped[bool] = mapped_column(default=True)
    consent_voice: Mapped[bool] = mapped_column(default=True)
    consent_call: Mapped[bool] = mapped_column(default=True)
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phone_invalid: Mapped[bool] = mapped_column(default=False)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # forgotten (recall.privacy.erasure)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.Index("ix_patients_clinic_phone", "clinic_id", "phone_e164"),
        sa.Index("ix_patients_clinic_name", "clinic_id", "full_name"),
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_patients_clinic_external_ref"),
    )


_SIMPLE = ("date_of_birth", "consent_sms", "consent_voice", "consent_call")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def check_birth_date(born: date, today: date, field: str = "date_of_birth") -> date:
    """A real person's birth date: on or after 1900-01-01 and not after today (the clinic's today: a baby born
    this morning in Auckland is not in the future because UTC is still on yesterday)."""
    if born < EARLIEST_BIRTH_DATE:
        raise ValidationError(f"must be on or after {EARLIEST_BIRTH_DATE.isoformat()}", field=field)
    if born > today:
        raise ValidationError(f"must not be after today in the clinic's time zone ({today.isoformat()})", field=field)
    return born


def apply_changes(patient: Patient, data: dict[str, Any], clinic: Clinic, now: datetime) -> None:
    region = clinic.phone_region
    if "full_name" in data:
        if not str(data["full_name"]).strip():
            raise ValidationError("must not be empty", field="full_name")
        patient.full_name = data["full_name"].strip()
    if "phone" in data:
        patient.phone_e164 = to_e164(data["phone"], region)
        patient.phone_invalid = False  # a corrected number is presumed good again
    if "language" in data:
        patient.language = Language(data["language"])
    if "timezone" in data:
        patient.timezone = validate_zone(data["timezone"]) if data["timezone"] else None
    if "external_ref" in data:
        patient.external_ref = data["external_ref"] or None
    if data.get("date_of_birth") is not None:
        check_birth_date(data["date_of_birth"], local_day(now, clinic.timezone))
    for name in _SIMPLE:
        if name in data:
            setattr(patient, name, data[name])
    if "opted_out" in data and data["opted_out"] != patient.opted_out:
        patient.opted_out = data["opted_out"]
        patient.opted_out_at = now if data["opted_out"] else None
    patient.updated_at = now


def create_patient(session: Session, clock: Clock, actor: Actor, data: dict[str, Any]) -> Patient:
    actor.require(*STAFF_ROLES, Role.SYSTEM)
    clinic_id = actor.clinic_id
    clinic = get_clinic(session, clinic_id)
    now = clock.now()
    patient = Patient(clinic_id=clinic_id, created_at=now, language=Language.EN)
    for required in ("full_name", "phone"):
        if required not in data:
            raise ValidationError("is required", field=required)
    apply_changes(patient, data, clinic, now)
    session.add(patient)
    session.commit()
    return patient


_PATIENT, _PATIENT_FOR_UPDATE = by_id_in_clinic(Patient)


def get_patient(session: Session, clinic_id: int, patient_id: int, *, for_update: bool = False) -> Patient:
    patient = session.scalar(_PATIENT_FOR_UPDATE if for_update else _PATIENT, {"id": patient_id, "clinic": clinic_id})
    if patient is None:
        raise NotFound("patient", patient_id)
    return patient


def search_patients(
    clinic_id: int, *, q: str | None = None, phone: str | None = None, language: Language | None = None
) -> sa.Select[Patient]:
    stmt = sa.select(Patient).where(Patient.clinic_id == clinic_id).order_by(Patient.id)
    if q:
        stmt = stmt.where(Patient.full_name.ilike(f"%{_escape_like(q)}%", escape="\\"))
    if phone:
        stmt = stmt.where(Patient.phone_e164 == phone)
    if language:
        stmt = stmt.where(Patient.language == language)
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
