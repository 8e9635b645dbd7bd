"""``flask recall import-fhir``: a Bundle or NDJSON file into a clinic, with its progress, each bad entry's
element and reason, and a summary; on both databases."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.visits.booking import Booking
from tests.api.checks import snapshot
from tests.api.fhir_scene import name_the_operator
from tests.fhir_bundles import bundle, clinic_resources, fixture, many_appointments


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["recall", "import-fhir", *map(str, args)])


def _count(database, model, clinic_id):
    with database.reader() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(model.clinic_id == clinic_id))


def test_a_bundle_file_imports_and_importing_it_again_changes_nothing(app, database, world, tmp_path):
    name_the_operator(database, world)
    path = tmp_path / "clinic.json"
    encounters = [fixture("encounter-finished"), fixture("encounter-in-progress")]
    path.write_text(json.dumps(bundle([*clinic_resources(), *encounters], "collection")))
    first = _run(app, "--clinic", world.a.clinic.id, path)
    assert first.exit_code == 0, first.output
    assert "importing" in first.output
    assert "15 entries read" in first.output and "0 refused; 0 invalid, 1 ignored" in first.output
    assert _count(database, Booking, world.a.clinic.id) == 2  # pending and booked: the others book nothing
    before = snapshot(database)
    again = _run(app, "--clinic", world.a.clinic.id, path)
    assert again.exit_code == 0 and "0 created, 0 updated, 14 unchanged" in again.output
    assert snapshot(database) == before


def test_ndjson_bad_lines_are_named_with_their_element_and_the_good_ones_land(app, database, world, tmp_path):
    no_phone = fixture("patient-sv") | {"telecom": [{"system": "email", "value": "sven@example.org"}]}
    bad = fixture("appointment-booked") | {"status": "waitlist"}
    lines = [fixture("patient"), fixture("practitioner"), no_phone, bad, fixture("appointment-pending")]
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n{broken\n")
    result = _run(app, "--clinic", world.a.clinic.id, path)
    assert result.exit_code == 1
    assert "entry 2 (Patient/pat-2): Patient.telecom: has no phone" in result.output
    assert (
        "entry 3 (Appointment/appt-booked): Appointment.status: 'waitlist' is not a status recall maps" in result.output
    )
    assert "entry 5: line 6: is not JSON" in result.output
    with database.reader() as s:
        refs = set(s.scalars(sa.select(Booking.external_ref).where(Booking.clinic_id == world.a.clinic.id)))
        assert "APPT-102" in refs and "APPT-103" not in refs
        assert s.scalar(sa.select(Patient.id).where(Patient.external_ref == "MRN-1001")) is not None


def test_a_dry_run_reports_and_writes_nothing(app, database, world, tmp_path):
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(bundle([fixture("patient"), fixture("practitioner"), fixture("appointment-pending")])))
    before = snapshot(database)
    result = _run(app, "--clinic", world.a.clinic.id, "--dry-run", path)
    assert result.exit_code == 0, result.output
    assert "would be (dry run): 4 created" in result.output  # the serviceType's service too
    assert "importing: 4/4" in result.output
    assert snapshot(database) == before


def test_an_unknown_clinic_or_a_file_that_is_not_fhir_is_refused_saying_why(app, world, tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"resourceType": "Bundle", "type": "document"}')
    assert "there is no clinic 999" in _run(app, "--clinic", 999, path).output
    result = _run(app, "--clinic", world.a.clinic.id, path)
    assert result.exit_code != 0 and "Bundle.type: 'document' is not one of" in result.output


@pytest.mark.slow
@pytest.mark.timeout(1200)  # minutes on a busy machine: each appointment books and plans its reminders
def test_a_bundle_of_ten_thousand_appointments_imports_with_its_progress_shown(app, database, world, tmp_path):
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(many_appointments(10_000)))
    started = time.monotonic()
    result = _run(app, "--clinic", world.a.clinic.id, path)
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output[-2000:]
    progress = [line for line in result.output.splitlines() if line.startswith("importing: ")]
    assert progress[0] == "importing: 500/10101" and progress[-1] == "importing: 10101/10101"
    assert "10100 entries read; records were: 10101 created" in result.output
    assert _count(database, Booking, world.a.clinic.id) == 10_000
    print(f"10,000 appointments imported in {took:.1f} s")
