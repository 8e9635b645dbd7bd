"""The fields of each kind of CSV file: the headers they are found under by default, which are required, and how
a row's cells become a record.

A file's columns are matched to our fields by the mapping the admin gives (our field -> the file's header) and,
for fields it leaves out, by the usual headers (case, spaces, ``_`` and ``-`` aside: "Full name", "full_name",
"PHONE"). Names in Polish, Russian, Chinese and Swedish headers are known too (Telefon, Телефон, 电话, Namn).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recall.imports import csv_values as values
from recall.imports.records import AppointmentRecord, PatientRecord, Record


@dataclass(frozen=True)
class Field:
    name: str  # ours, as the mapping and the report name it
    headers: tuple[str, ...]  # the usual headers, normalized (see ``normalized``)
    required: bool = False
    read: Callable[[str, str], Any] = lambda raw, _zone: values.text(raw)  # (cell, the clinic's zone) -> value
    description: str = ""


def normalized(header: str) -> str:
    return re.sub(r"[\s_\-./]+", "", header.strip().casefold())


def _text(raw: str, _zone: str) -> str:
    return values.text(raw)


def _optional(read: Callable[[str, str], Any]) -> Callable[[str, str], Any]:
    return lambda raw, zone: read(raw, zone) if raw.strip() else None


def _h(*names: str) -> tuple[str, ...]:
    return tuple(normalized(n) for n in names)


PATIENT_FIELDS = (
    Field(
        "ref",
        _h("ref", "id", "patient id", "patient_ref", "external id", "mrn", "identifier"),
        True,
        description="the patient's identifier in your system; importing again finds the patient by it",
    ),
    Field(
        "full_name",
        _h(
            "full name",
            "name",
            "patient",
            "patient name",
            "imię i nazwisko",
            "фио",
            "имя",
            "姓名",
            "namn",
            "fullständigt namn",
        ),
        True,
        description="as the patient writes it",
    ),
    Field(
        "phone",
        _h(
            "phone", "telephone", "tel", "mobile", "phone number", "telefon", "telefonnummer", "телефон", "电话", "手机"
        ),
        True,
        description="national (read in the clinic's phone region) or international with +",
    ),
    Field(
        "language",
        _h("language", "lang", "język", "язык", "语言", "språk"),
        read=_optional(_text),
        description="en, pl, ru, sv or zh, or a tag such as pl-PL; another language is English",
    ),
    Field(
        "date_of_birth",
        _h(
            "date of birth",
            "dob",
            "birth date",
            "birthdate",
            "born",
            "data urodzenia",
            "дата рождения",
            "出生日期",
            "födelsedatum",
        ),
        read=_optional(lambda r, _z: values.day(r)),
        description=f"{values.DAY_FORMS}",
    ),
    Field(
        "timezone",
        _h("timezone", "time zone", "tz"),
        read=_optional(_text),
        description="an IANA zone (Europe/Warsaw) if the patient lives in another zone than the clinic",
    ),
)

APPOINTMENT_FIELDS = (
    Field(
        "ref",
        _h("ref", "id", "appointment id", "appointment_ref", "booking id", "identifier"),
        True,
        description="the appointment's identifier in your system; importing again finds the booking by it",
    ),
    Field(
        "patient_ref",
        _h("patient ref", "patient id", "patient"),
        True,
        description="the patient's identifier, as in the patients file",
    ),
    Field(
        "start_at",
        _h(
            "start",
            "start at",
            "starts at",
            "start time",
            "date",
            "when",
            "начало",
            "początek",
            "开始时间",
            "start tid",
        ),
        True,
        read=values.instant,
        description=values.TIME_FORMS,
    ),
    Field(
        "end_at",
        _h("end", "end at", "ends at", "end time"),
        read=_optional(values.instant),
        description="default: the service's duration",
    ),
    Field(
        "status",
        _h("status", "state"),
        read=lambda raw, _z: values.state(raw),
        description="booked (default), pending, proposed, arrived, fulfilled, noshow or cancelled",
    ),
    Field(
        "provider_ref",
        _h("provider ref", "provider id", "provider", "doctor", "doctor id"),
        read=_optional(_text),
        description="the provider's identifier",
    ),
    Field(
        "service_ref",
        _h("service ref", "service id", "service", "visit type"),
        read=_optional(_text),
        description="the service's identifier",
    ),
    Field(
        "booked_by_ref",
        _h("booked by", "booked by ref", "staff", "staff id", "booked by email"),
        read=_optional(_text),
        description="who booked: a staff member's identifier or e-mail (for credit)",
    ),
    Field(
        "channel",
        _h("channel", "booked via", "via"),
        read=lambda raw, _z: values.channel(raw),
        description="in_person, phone, chat, sms, online (with booked_by: who earns the booking)",
    ),
    Field(
        "cancel_reason",
        _h("cancel reason", "cancellation reason", "reason"),
        read=_optional(_text),
        description="for a cancelled appointment",
    ),
)

KINDS: dict[str, tuple[Field, ...]] = {"patients": PATIENT_FIELDS, "appointments": APPOINTMENT_FIELDS}


def build_record(kind: str, cells: dict[str, Any]) -> Record:
    """A record from a row's read cells (our field -> value); fields without a column are absent."""
    if kind == "patients":
        return PatientRecord(
            ref=cells["ref"],
            full_name=cells["full_name"],
            phone=cells["phone"],
            language=cells.get("language"),
            date_of_birth=cells.get("date_of_birth"),
            timezone=cells.get("timezone"),
        )
    return AppointmentRecord(
        ref=cells["ref"],
        patient_ref=cells["patient_ref"],
        start_at=cells["start_at"],
        state=cells.get("status") or values.AppointmentState.BOOKED,
        end_at=cells.get("end_at"),
        provider_ref=cells.get("provider_ref"),
        service_ref=cells.get("service_ref"),
        booked_by_ref=cells.get("booked_by_ref"),
        channel=cells.get("channel"),
        cancel_reason=cells.get("cancel_reason"),
    )
