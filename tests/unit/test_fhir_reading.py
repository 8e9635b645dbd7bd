"""The FHIR adapter on its own: fixtures valid per fhir.resources, the mapping, the reference rule, the problems."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B import get_fhir_model_class

from integrations.fhir.reading import Unreadable, read_json, read_ndjson
from integrations.fhir.responses import response_bundle
from recall.imports.records import (
    AppointmentRecord,
    AppointmentState,
    Channel,
    EncounterRecord,
    EntryOutcome,
    PatientRecord,
    ProviderRecord,
    Result,
    ServiceRecord,
)
from tests.fhir_bundles import APPOINTMENT_STATUSES, bundle, clinic_resources, fixture, fixture_names


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_is_a_valid_r4_resource_per_fhir_resources(name):
    data = fixture(name)
    model = get_fhir_model_class(data["resourceType"]).model_validate(data)
    assert model.get_resource_type() == data["resourceType"]


def test_the_fixtures_cover_every_appointment_status_we_map_and_both_encounter_states():
    statuses = {fixture(n)["status"] for n in fixture_names() if n.startswith("appointment-")}
    assert statuses == set(APPOINTMENT_STATUSES)
    assert {fixture(n)["status"] for n in fixture_names() if n.startswith("encounter-")} == {"finished", "in-progress"}


def _records(parsed):
    return [record for _entry, record in parsed.to_apply()]


def test_a_bundle_maps_onto_records_dependencies_first_whatever_order_it_came_in():
    parsed = read_json(bundle([*clinic_resources(), fixture("encounter-finished"), fixture("encounter-in-progress")]))
    assert parsed.problems == []
    kinds = [type(r) for r in _records(parsed)]
    order = [PatientRecord, ProviderRecord, ServiceRecord, AppointmentRecord, EncounterRecord]
    assert kinds == sorted(kinds, key=order.index)
    assert kinds.count(AppointmentRecord) == 7 and kinds.count(ServiceRecord) == 1  # the HealthcareService's


def test_a_patient_keeps_its_identifier_name_mobile_phone_language_and_birth_date():
    (record,) = _records(read_json(fixture("patient")))
    assert record == PatientRecord(
        ref="MRN-1001",
        full_name="Agnieszka Nowak",
        phone="+46 70 123 45 67",
        language="pl-PL",
        date_of_birth=date(1984, 6, 12),
        timezone="Europe/Stockholm",
    )


def test_a_partial_birth_date_is_left_out():
    (record,) = _records(read_json(fixture("patient-sv")))
    assert record.date_of_birth is None and record.language == "sv"


def test_a_practitioners_specialty_comes_from_its_role_in_the_bundle_else_its_qualification():
    records = _records(
        read_json(bundle([fixture("practitioner"), fixture("practitioner-ent"), fixture("practitioner-role")]))
    )
    assert {(r.ref, r.specialty) for r in records} == {("DOC-77", "general practice"), ("DOC-78", "ENT")}


def test_a_practitioner_without_a_specialty_is_a_problem_at_its_qualification():
    parsed = read_json(fixture("practitioner-ent"))
    assert [str(p) for p in parsed.entries[0].problems] == [
        "Practitioner.qualification: names no specialty: give a qualification, or a PractitionerRole with a "
        "specialty in the same Bundle"
    ]


def test_an_appointment_maps_its_status_participants_service_times_and_our_extensions():
    parsed = read_json(bundle([fixture("patient"), fixture("practitioner"), fixture("appointment-booked")]))
    record = next(r for r in _records(parsed) if isinstance(r, AppointmentRecord))
    assert record == AppointmentRecord(
        ref="APPT-103",
        patient_ref="MRN-1001",
        start_at=datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        state=AppointmentState.BOOKED,
        end_at=datetime(2026, 3, 10, 8, 30, tzinfo=UTC),
        provider_ref="DOC-77",
        service_ref="124",
        booked_by_ref="operator@nordvik.example",
        channel=Channel.PHONE,
    )
    # Without a HealthcareService, the serviceType's code makes the service, once.
    assert [r for r in _records(parsed) if isinstance(r, ServiceRecord)] == [
        ServiceRecord(ref="124", name="General Practice")
    ]


@pytest.mark.parametrize("status", APPOINTMENT_STATUSES)
def test_every_appointment_status_maps_onto_our_state(status):
    (entry,) = read_json(fixture(f"appointment-{status}")).entries
    assert entry.record.state is AppointmentState(status)


def test_a_cancelled_appointment_keeps_its_reason():
    (entry,) = read_json(fixture("appointment-cancelled")).entries
    assert entry.record.cancel_reason == "patient is travelling"


def test_references_outside_the_bundle_fall_back_to_type_and_id_or_to_the_identifier_they_carry():
    (entry,) = read_json(fixture("appointment-booked")).entries  # Patient/pat-1 is not in this Bundle
    assert (entry.record.patient_ref, entry.record.provider_ref) == ("Patient/pat-1", "Practitioner/pr-1")
    (visit,) = read_json(fixture("encounter-in-progress")).entries  # its subject carries an identifier
    assert visit.record.patient_ref == "MRN-1002" and visit.record.ended_at is None


def test_a_finished_encounter_maps_its_period_appointment_and_practitioner():
    parsed = read_json(
        bundle(
            [
                fixture("patient"),
                fixture("practitioner"),
                fixture("appointment-fulfilled"),
                fixture("encounter-finished"),
            ],
            "collection",
        )
    )
    record = next(r for r in _records(parsed) if isinstance(r, EncounterRecord))
    assert record == EncounterRecord(
        ref="ENC-501",
        patient_ref="MRN-1001",
        started_at=datetime(2026, 2, 23, 8, 5, tzinfo=UTC),
        ended_at=datetime(2026, 2, 23, 8, 40, tzinfo=UTC),
        appointment_ref="APPT-105",
        provider_ref="DOC-77",
        service_ref="124",
    )


def _bad_bundle():
    no_phone = fixture("patient-sv") | {"id": "pat-9", "identifier": [{"value": "MRN-9"}], "telecom": []}
    bad_date = fixture("patient") | {"id": "pat-8", "birthDate": "1984-13-40"}
    no_patient = fixture("appointment-booked") | {"id": "a-9", "identifier": [{"value": "A-9"}]}
    no_patient["participant"] = no_patient["participant"][1:]
    waitlist = fixture("appointment-booked") | {"id": "a-8", "identifier": [{"value": "A-8"}], "status": "waitlist"}
    orphan = fixture("appointment-booked") | {"id": "a-7", "identifier": [{"value": "A-7"}]}
    orphan["participant"][0]["actor"] = {"reference": "urn:uuid:0b9c5a0e-1111-4e2b-9d3a-000000000000"}
    return bundle([fixture("patient"), no_phone, bad_date, no_patient, waitlist, orphan], "batch")


def test_each_bad_entry_is_reported_with_its_element_path_and_the_good_ones_still_map():
    parsed = read_json(_bad_bundle())
    problems = {e.index: [str(p) for p in e.problems] for e in parsed.entries if e.problems}
    assert problems[1] == ["Patient.telecom: has no phone (a telecom with system 'phone'): recall calls patients"]
    assert problems[2][0].startswith("Patient.birthDate: Date value string does not match")
    assert problems[3] == ["Appointment.participant: names no Patient (an actor referring to Patient/...)"]
    assert problems[4][0].startswith("Appointment.status: 'waitlist' is not a status recall maps")
    assert problems[5][0].startswith("Appointment.participant[0].actor: refers to 'urn:uuid:0b9c5a0e")
    assert [r.ref for r in _records(parsed)] == ["MRN-1001"]


def test_the_batch_response_answers_every_entry_in_order_and_is_a_valid_fhir_bundle():
    parsed = read_json(_bad_bundle())
    answer = response_bundle(parsed, {0: EntryOutcome("patient", "MRN-1001", Result.CREATED, id=41)})
    responses = [e["response"] for e in answer["entry"]]
    assert [r["status"] for r in responses] == ["201 Created", "422 Unprocessable Entity", "400 Bad Request"] + [
        "422 Unprocessable Entity"
    ] * 3
    assert responses[0]["location"] == "Patient/41"
    assert responses[3]["outcome"]["issue"][0]["expression"] == ["Appointment.participant"]
    get_fhir_model_class("Bundle").model_validate(answer)  # a batch-response the EHR's own library reads


def test_an_outcome_our_rules_refused_names_the_fhir_element_of_the_records_field():
    parsed = read_json(bundle([fixture("appointment-booked")], "batch"))
    refused = EntryOutcome("appointment", "APPT-103", Result.REFUSED, errors={"patient_ref": ["no patient MRN-1"]})
    (entry,) = response_bundle(parsed, {0: refused})["entry"]
    assert entry["response"]["status"] == "422 Unprocessable Entity"
    assert entry["response"]["outcome"]["issue"][0] | {} == {
        "severity": "error",
        "code": "business-rule",
        "diagnostics": "no patient MRN-1",
        "expression": ["Appointment.participant"],
    }


def test_ndjson_reads_one_resource_a_line_and_names_the_line_of_broken_json():
    lines = [json.dumps(fixture("patient")), "", "{not json", json.dumps(fixture("appointment-booked"))]
    parsed = read_ndjson(lines)
    assert [e.index for e in parsed.entries] == [0, 2, 3]
    assert str(parsed.entries[1].problems[0]).startswith("line 3: is not JSON")
    assert parsed.entries[2].record.patient_ref == "MRN-1001"  # Patient/pat-1 is the first line's


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([], "(root)"),
        ({"resourceType": "Bundle", "type": "document", "entry": []}, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "batch", "entry": {"x": 1}}, "Bundle.entry"),
        (
            {"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "FETCH"}}]},
            "Bundle.entry[0].request",
        ),
    ],
)
def test_what_is_not_a_bundle_to_read_is_refused_whole_naming_where(data, path):
    with pytest.raises(Unreadable) as refused:
        read_json(data)
    assert refused.value.problem.path.startswith(path)


def test_an_unknown_resource_type_is_a_problem_and_a_resource_recall_does_not_read_is_ignored():
    parsed = read_json(
        bundle(
            [
                {"resourceType": "Nonsense", "id": "x"},
                {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "bp"}},
            ],
            "collection",
        )
    )
    assert str(parsed.entries[0].problems[0]) == "Nonsense: is not a FHIR R4 resource type"
    assert parsed.entries[1].problems == [] and "not imported" in parsed.entries[1].ignored


def test_a_reference_by_the_ehrs_id_alone_finds_the_ref_that_resource_landed_under_before():
    landed = {("Patient", "pat-1"): "MRN-1001"}
    (entry,) = read_json(fixture("appointment-booked"), lambda kind, fhir_id: landed.get((kind, fhir_id))).entries
    assert (entry.record.patient_ref, entry.record.provider_ref) == ("MRN-1001", "Practitioner/pr-1")
