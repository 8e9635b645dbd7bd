"""Patients, providers and services from an import: created, updated, unchanged, refused, by their identifier."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.catalog import Provider, Service
from recall.clinic.patients import Language, Patient
from recall.common.actors import Actor
from recall.common.errors import Forbidden
from recall.imports.records import PatientRecord, ProviderRecord, Result, ServiceRecord
from tests.factories import row
from tests.integration.imports_scene import apply, count, run, snapshot

pytestmark = pytest.mark.db

NAMES = {
    "pl": "Zażółć Gęślą-Jaźń",
    "ru": "Анна Сергеевна Иванова",
    "zh": "王小明",
    "sv": "Åsa Öberg-Ärlig",
    "en": "Mary O'Neill",
}


def _ehr(world):
    return Actor.system(world.a.clinic.id)


def test_a_new_patient_is_created_with_the_identifier_and_the_phone_read_in_the_clinics_region(database, clock, world):
    out = apply(database, clock, _ehr(world), PatientRecord(ref="P-1", full_name=" Nils Holm ", phone="070-555 12 34"))
    assert (out.kind, out.ref, out.result) == ("patient", "P-1", Result.CREATED)
    patient = row(database, Patient, out.id)
    assert (patient.full_name, patient.phone_e164, patient.external_ref) == ("Nils Holm", "+46705551234", "P-1")
    assert patient.language is Language.EN


@pytest.mark.parametrize(
    "tag,language",
    [("pl-PL", Language.PL), ("sv_SE", Language.SV), ("ZH", Language.ZH), ("de-DE", Language.EN), ("ru", Language.RU)],
)
def test_a_language_tag_is_read_by_its_first_part_and_an_unknown_one_is_english(database, clock, world, tag, language):
    out = apply(
        database, clock, _ehr(world), PatientRecord(ref="P-1", full_name="X Y", phone="+48 512 000 111", language=tag)
    )
    assert row(database, Patient, out.id).language is language


def test_names_in_the_five_languages_are_kept_as_written(database, clock, world):
    for n, (lang, name) in enumerate(NAMES.items()):
        apply(
            database,
            clock,
            _ehr(world),
            PatientRecord(ref=f"L-{lang}", full_name=name, phone=f"070-555 00 {10 + n}", language=lang),
        )
    with database.reader() as s:
        got = dict(
            s.execute(sa.select(Patient.external_ref, Patient.full_name).where(Patient.external_ref.like("L-%"))).all()
        )
    assert got == {f"L-{lang}": name for lang, name in NAMES.items()}


def test_importing_the_same_patient_again_changes_nothing_not_even_the_update_stamp(database, clock, world):
    record = PatientRecord(
        ref="P-1",
        full_name="Nils Holm",
        phone="070-555 12 34",
        language="sv-SE",
        date_of_birth=date(1980, 5, 1),
        timezone="Europe/Stockholm",
    )
    first = apply(database, clock, _ehr(world), record)
    before = snapshot(database)
    clock.advance(timedelta(hours=1))
    # the same number written another way is the same number
    again = apply(database, clock, _ehr(world), PatientRecord(**{**record.__dict__, "phone": "+46 70 555 12 34"}))
    assert (again.result, again.id) == (Result.UNCHANGED, first.id)
    assert snapshot(database) == before


def test_a_changed_patient_is_updated_and_fields_the_source_leaves_empty_keep_ours(database, clock, world):
    first = apply(
        database,
        clock,
        _ehr(world),
        PatientRecord(
            ref="P-1", full_name="Nils Holm", phone="070-555 12 34", language="sv", date_of_birth=date(1980, 5, 1)
        ),
    )
    clock.advance(timedelta(hours=1))
    out = apply(
        database, clock, _ehr(world), PatientRecord(ref="P-1", full_name="Nils Holm-Berg", phone="070-555 99 99")
    )
    patient = row(database, Patient, first.id)
    assert out.result is Result.UPDATED
    assert (patient.full_name, patient.phone_e164, patient.language, patient.date_of_birth) == (
        "Nils Holm-Berg",
        "+46705559999",
        Language.SV,
        date(1980, 5, 1),
    )
    assert patient.updated_at == clock.now()


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"phone": "12345abc"}, "phone"),
        ({"phone": "070-1"}, "phone"),
        ({"full_name": "  "}, "full_name"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"ref": ""}, "ref"),
        ({"ref": "r" * 65}, "ref"),
        ({"date_of_birth": date(2030, 1, 1)}, "date_of_birth"),
    ],
)
def test_a_patient_our_rules_refuse_is_reported_on_its_field_and_nothing_is_written(
    database, clock, world, fields, field
):
    before = snapshot(database)
    record = PatientRecord(**{"ref": "P-9", "full_name": "Nils Holm", "phone": "070-555 12 34", **fields})
    out = apply(database, clock, _ehr(world), record)
    assert out.result is Result.REFUSED and list(out.errors) == [field], out.errors
    assert snapshot(database) == before


def test_an_update_our_rules_refuse_leaves_the_patient_as_it_was(database, clock, world):
    first = apply(database, clock, _ehr(world), PatientRecord(ref="P-1", full_name="Nils Holm", phone="070-555 12 34"))
    before = snapshot(database)
    out = apply(database, clock, _ehr(world), PatientRecord(ref="P-1", full_name="Nils Renamed", phone="not a phone"))
    assert out.result is Result.REFUSED and "phone" in out.errors
    assert snapshot(database) == before
    assert row(database, Patient, first.id).full_name == "Nils Holm"


def test_only_a_manager_or_the_system_imports(database, clock, world, people):
    for who in ("operator", "frontdesk"):
        with pytest.raises(Forbidden):
            apply(database, clock, people[who], PatientRecord(ref="P-1", full_name="N H", phone="070-555 12 34"))
    assert (
        apply(
            database, clock, people["manager"], PatientRecord(ref="P-1", full_name="N H", phone="070-555 12 34")
        ).result
        is Result.CREATED
    )


def test_identifiers_are_per_clinic(database, clock, world):
    a = apply(database, clock, _ehr(world), PatientRecord(ref="P-1", full_name="In A", phone="070-555 12 34"))
    b = apply(
        database,
        clock,
        Actor.system(world.b.clinic.id),
        PatientRecord(ref="P-1", full_name="In B", phone="070-555 12 34"),
    )
    assert a.result is b.result is Result.CREATED and a.id != b.id


def test_providers_and_services_are_upserted_by_identifier(database, clock, world):
    ehr = _ehr(world)
    prov = apply(database, clock, ehr, ProviderRecord(ref="D-1", name="Dr. Ewa Nowak", specialty="cardiology"))
    assert prov.result is Result.CREATED
    assert (
        apply(database, clock, ehr, ProviderRecord(ref="D-1", name="Dr. Ewa Nowak", specialty="cardiology")).result
        is Result.UNCHANGED
    )
    assert (
        apply(
            database, clock, ehr, ProviderRecord(ref="D-1", name="Dr. Ewa Nowak", specialty="cardiology", active=False)
        ).result
        is Result.UPDATED
    )
    assert row(database, Provider, prov.id).active is False
    svc = apply(
        database,
        clock,
        ehr,
        ServiceRecord(ref="S-1", name="Cardiology check", duration_minutes=40, follow_up_interval_days=90),
    )
    assert svc.result is Result.CREATED
    # the source leaving the interval out keeps the clinic's
    again = apply(database, clock, ehr, ServiceRecord(ref="S-1", name="Cardiology check"))
    assert again.result is Result.UNCHANGED
    service = row(database, Service, svc.id)
    assert (service.duration_minutes, service.follow_up_interval_days, service.external_ref) == (40, 90, "S-1")


def test_a_service_we_hold_by_name_without_an_identifier_is_adopted_not_duplicated(database, clock, world):
    services = count(database, Service)
    out = apply(database, clock, _ehr(world), ServiceRecord(ref="S-7", name="General check-up"))
    assert (out.result, out.id) == (Result.UPDATED, world.a.services[0].id)
    assert count(database, Service) == services
    assert row(database, Service, out.id).external_ref == "S-7"


def test_a_service_with_a_duration_out_of_range_is_refused(database, clock, world):
    out = apply(database, clock, _ehr(world), ServiceRecord(ref="S-1", name="Odd", duration_minutes=0))
    assert out.result is Result.REFUSED and list(out.errors) == ["duration_minutes"]


def test_a_batch_import_counts_each_result_and_lists_the_refused(database, clock, world):
    records = [
        PatientRecord(ref="P-1", full_name="Good One", phone="070-555 12 34"),
        PatientRecord(ref="P-2", full_name="Bad Phone", phone="xyz"),
        PatientRecord(ref="P-3", full_name="Good Two", phone="+48 512 345 001"),
    ]
    progress = []
    report = run(database, clock, _ehr(world), records, batch_size=2, on_progress=progress.append)
    assert (report.counts[Result.CREATED], report.counts[Result.REFUSED]) == (2, 1)
    assert [(o.ref, list(o.errors)) for o in report.refused] == [("P-2", ["phone"])]
    assert progress == [2, 1]
    report = run(database, clock, _ehr(world), records)
    assert (report.counts[Result.UNCHANGED], report.counts[Result.REFUSED]) == (2, 1)


def test_a_dry_run_reports_what_the_import_would_and_writes_nothing(database, clock, world):
    before = snapshot(database)
    records = [
        PatientRecord(ref="P-1", full_name="Good One", phone="070-555 12 34"),
        PatientRecord(ref="P-2", full_name="Bad Phone", phone="xyz"),
    ]
    report = run(database, clock, _ehr(world), records, dry_run=True, batch_size=1)
    assert report.dry_run and (report.counts[Result.CREATED], report.counts[Result.REFUSED]) == (1, 1)
    assert snapshot(database) == before
