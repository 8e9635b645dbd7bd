"""The records every importer produces, whatever the format it read (FHIR R4, CSV).

A record says what the source holds now, keyed by the source's identifier (``ref``, kept as our
``external_ref``); references to other records are the source's identifiers too. Times are aware (UTC or
with an offset); phones are as the source wrote them and are parsed against the clinic's region when the
record is applied.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from recall.visits.booking import Channel


class AppointmentState(str, enum.Enum):
    """An appointment's state in the source's words (FHIR's Appointment.status, the statuses we map)."""

    PROPOSED = "proposed"
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


@dataclass(frozen=True)
class PatientRecord:
    ref: str
    full_name: str
    phone: str
    language: str | None = None  # 'pl' or a BCP-47 tag such as 'pl-PL'; None: the clinic's default
    date_of_birth: date | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class ProviderRecord:
    ref: str
    name: str
    specialty: str
    active: bool = True


@dataclass(frozen=True)
class ServiceRecord:
    ref: str
    name: str
    duration_minutes: int | None = None
    follow_up_interval_days: int | None = None


@dataclass(frozen=True)
class AppointmentRecord:
    ref: str
    patient_ref: str
    start_at: datetime
    state: AppointmentState
    end_at: datetime | None = None
    provider_ref: str | None = None
    service_ref: str | None = None
    # Who made the booking and how: a booking earns credit only when both are named (see the README).
    booked_by_ref: str | None = None  # a staff member's external_ref (or e-mail)
    channel: Channel | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class EncounterRecord:
    ref: str
    patient_ref: str
    started_at: datetime
    ended_at: datetime | None = None  # the checkout, where the source records one
    appointment_ref: str | None = None
    provider_ref: str | None = None
    service_ref: str | None = None


Record = PatientRecord | ProviderRecord | ServiceRecord | AppointmentRecord | EncounterRecord


class Result(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class EntryOutcome:
    """What applying one record answered: our row's id, or the fields at fault and why (``REFUSED``)."""

    kind: str  # 'patient', 'provider', 'service', 'appointment', 'encounter'
    ref: str
    result: Result
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Why an accepted record changed nothing or less than it says (a proposed appointment books nothing).
    note: str | None = None
