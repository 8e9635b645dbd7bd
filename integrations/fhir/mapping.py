"""One validated FHIR resource onto one import record (``recall.imports.records``).

| FHIR | record | from |
|---|---|---|
| Patient | PatientRecord | identifier, name, telecom (phone), communication (language), birthDate, timezone ext. |
| Practitioner | ProviderRecord | identifier, name, active; specialty from a PractitionerRole of it in the |
|  |  | same Bundle, else its first qualification |
| HealthcareService | ServiceRecord | type's first code (the ref appointments name), name, follow-up extension |
| Appointment | AppointmentRecord | identifier, participant (Patient, Practitioner), serviceType, start, end, status, |
|  |  | cancelationReason, the booked-by and booking-channel extensions |
| Encounter | EncounterRecord | identifier, subject, appointment, period, participant, serviceType |

A resource that is valid FHIR but not something recall can book raises ``MappingError`` at the element at fault.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from integrations.fhir.problems import MappingError
from integrations.fhir.references import References, checked, ref_of
from recall.imports.records import (
    AppointmentRecord,
    AppointmentState,
    Channel,
    EncounterRecord,
    PatientRecord,
    ProviderRecord,
    ServiceRecord,
)

EXTENSIONS = "https://recall.example/fhir/StructureDefinition/"
BOOKED_BY = EXTENSIONS + "booked-by"  # valueString (a staff member's external_ref or e-mail) or valueIdentifier
BOOKING_CHANNEL = EXTENSIONS + "booking-channel"  # valueCode: in_person, phone, chat, sms, voice_reply, online
TIMEZONE = EXTENSIONS + "timezone"  # on a Patient: valueCode or valueString, an IANA zone (Europe/Warsaw)
FOLLOW_UP = EXTENSIONS + "follow-up-interval-days"  # on a HealthcareService: valueInteger or valuePositiveInt

# FHIR's Appointment.status onto ours; 'checked-in' is R4's word for a patient who arrived.
APPOINTMENT_STATES = {state.value: state for state in AppointmentState} | {"checked-in": AppointmentState.ARRIVED}
# The Encounter statuses that are a visit that took place (or is taking place).
VISIT_STATUSES = frozenset({"arrived", "triaged", "in-progress", "onleave", "finished"})


def person_name(names: list[Any] | None, path: str) -> str:
    """The official (else usual, else first) name: its text, or its given names and family name."""
    ranked = sorted(names or [], key=lambda n: {"official": 0, "usual": 1}.get(n.use or "", 2))
    for name in ranked:
        text = (name.text or " ".join([*(name.given or []), name.family or ""])).strip()
        if text:
            return text[:200]
    raise MappingError(path, "has no name (text, given or family)")


def concept_text(concept: Any) -> str | None:
    """A CodeableConcept as words: its text, else its first coding's display, else that coding's code."""
    if concept is None:
        return None
    if concept.text and concept.text.strip():
        return concept.text.strip()
    for coding in concept.coding or []:
        if (coding.display or coding.code or "").strip():
            return (coding.display or coding.code).strip()
    return None


def concept_code(concept: Any) -> str | None:
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.code and coding.code.strip():
            return str(coding.code).strip()
    return None


def instant(value: Any, path: str) -> datetime:
    """A dateTime with its time and offset: a day alone ('2026-03-02') does not say when the visit was."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MappingError(path, "needs a time of day with an offset (2026-03-02T09:00:00+01:00)")
    return value.astimezone(UTC)


def extension(resource: Any, url: str) -> Any:
    for item in resource.extension or []:
        if item.url == url:
            return item
    return None


def patient(resource: Any) -> PatientRecord:
    phones = [t for t in resource.telecom or [] if t.system == "phone" and t.value and t.use != "old"]
    phones.sort(key=lambda t: ({"mobile": 0, "home": 1}.get(t.use or "", 2), t.rank or 1000))
    if not phones:
        raise MappingError("Patient.telecom", "has no phone (a telecom with system 'phone'): recall calls patients")
    language = None
    talks = sorted(resource.communication or [], key=lambda c: not c.preferred)
    if talks:
        language = concept_code(talks[0].language) or concept_text(talks[0].language)
    zone = extension(resource, TIMEZONE)
    return PatientRecord(
        ref=ref_of(resource),
        full_name=person_name(resource.name, "Patient.name"),
        phone=phones[0].value,
        language=language,
        # A partial birth date ('1990', '1990-05') says too little for a day: it is left out.
        date_of_birth=resource.birthDate if isinstance(resource.birthDate, date) else None,
        timezone=(zone.valueCode or zone.valueString) if zone is not None else None,
    )


def practitioner(resource: Any, specialty: str | None) -> ProviderRecord:
    """``specialty``: a PractitionerRole's of this practitioner, when the Bundle has one."""
    if specialty is None:
        for qualification in resource.qualification or []:
            specialty = concept_text(qualification.code)
            if specialty:
                break
    if not specialty:
        raise MappingError(
            "Practitioner.qualification",
            "names no specialty: give a qualification, or a PractitionerRole with a specialty in the same Bundle",
        )
    return ProviderRecord(
        ref=ref_of(resource),
        name=person_name(resource.name, "Practitioner.name"),
        specialty=specialty[:100],
        active=resource.active is not False,
    )


def role_specialty(resource: Any) -> str | None:
    for concept in resource.specialty or []:
        text = concept_text(concept)
        if text:
            return text
    return None


def healthcare_service(resource: Any) -> ServiceRecord:
    code = next((c for c in (concept_code(t) for t in resource.type or []) if c), None)
    name = (resource.name or "").strip() or next((concept_text(t) for t in resource.type or []), None)
    if not name:
        raise MappingError("HealthcareService.name", "is required: recall lists services by name")
    follow_up = extension(resource, FOLLOW_UP)
    days = None if follow_up is None else (follow_up.valueInteger or follow_up.valuePositiveInt)
    return ServiceRecord(
        ref=checked(code, "HealthcareService.type") if code else ref_of(resource),
        name=name[:200],
        follow_up_interval_days=days,
    )


def coded_service(concept: Any, path: str) -> ServiceRecord | None:
    """The service an appointment's or encounter's serviceType names: its code is the ref."""
    code = concept_code(concept)
    if code is None:
        return None
    return ServiceRecord(ref=checked(code, path), name=(concept_text(concept) or code)[:200])


def _staff_ref(item: Any) -> str | None:
    value = item.valueString or item.valueCode
    if value is None and item.valueIdentifier is not None:
        value = item.valueIdentifier.value
    if value is None and item.valueReference is not None:
        reference = item.valueReference
        value = (reference.identifier.value if reference.identifier is not None else None) or reference.reference
    return value.strip() if value and value.strip() else None


def appointment(resource: Any, refs: References) -> tuple[AppointmentRecord, ServiceRecord | None]:
    state = APPOINTMENT_STATES.get(resource.status or "")
    if state is None:
        known = ", ".join(sorted(APPOINTMENT_STATES))
        raise MappingError("Appointment.status", f"{resource.status!r} is not a status recall maps ({known})")
    if resource.start is None:
        raise MappingError("Appointment.start", "is required: recall books a time")
    patient_ref = provider_ref = None
    for i, participant in enumerate(resource.participant or []):
        if participant.actor is None:
            continue
        target = refs.resolve(participant.actor, f"Appointment.participant[{i}].actor")
        if target.resource_type == "Patient" and patient_ref is None:
            patient_ref = target.ref
        elif target.resource_type in ("Practitioner", "PractitionerRole") and provider_ref is None:
            provider_ref = target.ref
    if patient_ref is None:
        raise MappingError("Appointment.participant", "names no Patient (an actor referring to Patient/...)")
    service = coded_service(resource.serviceType[0], "Appointment.serviceType[0]") if resource.serviceType else None
    booked_by, channel = extension(resource, BOOKED_BY), extension(resource, BOOKING_CHANNEL)
    channel_code = (channel.valueCode or channel.valueString) if channel is not None else None
    if channel_code is not None and channel_code not in {c.value for c in Channel}:
        choices = ", ".join(c.value for c in Channel)
        raise MappingError(f"Appointment.extension({BOOKING_CHANNEL})", f"{channel_code!r} is not one of {choices}")
    record = AppointmentRecord(
        ref=ref_of(resource),
        patient_ref=patient_ref,
        start_at=instant(resource.start, "Appointment.start"),
        state=state,
        end_at=instant(resource.end, "Appointment.end") if resource.end is not None else None,
        provider_ref=provider_ref,
        service_ref=service.ref if service is not None else None,
        booked_by_ref=_staff_ref(booked_by) if booked_by is not None else None,
        channel=Channel(channel_code) if channel_code else None,
        cancel_reason=concept_text(resource.cancelationReason),
    )
    return record, service


def encounter(resource: Any, refs: References) -> tuple[EncounterRecord, ServiceRecord | None]:
    if resource.status not in VISIT_STATUSES:
        known = ", ".join(sorted(VISIT_STATUSES))
        raise MappingError("Encounter.status", f"{resource.status!r} is not a visit that took place ({known})")
    if resource.subject is None:
        raise MappingError("Encounter.subject", "is required: the patient who came")
    subject = refs.resolve(resource.subject, "Encounter.subject")
    if subject.resource_type not in (None, "Patient"):
        raise MappingError("Encounter.subject", f"refers to a {subject.resource_type}, not a Patient")
    if resource.period is None or resource.period.start is None:
        raise MappingError("Encounter.period.start", "is required: when the visit began")
    appointment_ref = provider_ref = None
    if resource.appointment:
        appointment_ref = refs.resolve(resource.appointment[0], "Encounter.appointment[0]").ref
    for i, participant in enumerate(resource.participant or []):
        if participant.individual is not None:
            target = refs.resolve(participant.individual, f"Encounter.participant[{i}].individual")
            if target.resource_type in ("Practitioner", "PractitionerRole"):
                provider_ref = target.ref
                break
    service = coded_service(resource.serviceType, "Encounter.serviceType")
    finished = resource.status == "finished" and resource.period.end is not None
    ended = instant(resource.period.end, "Encounter.period.end") if finished else None
    record = EncounterRecord(
        ref=ref_of(resource),
        patient_ref=subject.ref,
        started_at=instant(resource.period.start, "Encounter.period.start"),
        ended_at=ended,
        appointment_ref=appointment_ref,
        provider_ref=provider_ref,
        service_ref=service.ref if service is not None else None,
    )
    return record, service
