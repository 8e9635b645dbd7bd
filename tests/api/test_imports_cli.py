"""``recall import-csv`` on the command line: rows imported, each bad row printed by line and column, exit 1."""

from __future__ import annotations

import sqlalchemy as sa

from recall.clinic.patients import Patient

GOOD_AND_BAD = "Nr;Name;Tel\nP-1;Ебба Лунд;070-555 12 34\nP-2;王芳;not a phone\nP-3;Oskar Berg;+46 70 555 12 99\n"


def _patients(app):
    with app.extensions["recall.db"].reader() as s:
        return sorted(s.scalars(sa.select(Patient.external_ref).where(Patient.external_ref.is_not(None))))


def test_the_command_imports_the_good_rows_prints_each_bad_one_and_exits_1(app, world, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8-sig")
    args = ["recall", "import-csv", "--clinic", str(world.a.clinic.id), "--kind", "patients", "--map", "ref=Nr"]
    dry = app.test_cli_runner().invoke(args=[*args, "--dry-run", str(path)])
    assert dry.exit_code == 1, dry.output
    assert "patients.csv:3: Tel: " in dry.output and "dry run, nothing written" in dry.output
    assert _patients(app) == []
    result = app.test_cli_runner().invoke(args=[*args, str(path)])
    assert result.exit_code == 1, result.output
    assert "3 rows: created 2, updated 0, unchanged 0, refused 1 (imported)" in result.output
    assert _patients(app) == ["P-1", "P-3"]


def test_a_clean_file_exits_0_and_a_mapping_naming_no_column_is_an_error_before_any_row(app, world, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("Nr;Name;Tel\nP-1;Ebba Lund;070-555 12 34\n", encoding="utf-8")
    base = ["recall", "import-csv", "--clinic", str(world.a.clinic.id), "--kind", "patients"]
    ok = app.test_cli_runner().invoke(args=[*base, "--map", "ref=Nr", str(path)])
    assert ok.exit_code == 0, ok.output
    wrong = app.test_cli_runner().invoke(args=[*base, "--map", "ref=Number", str(path)])
    assert wrong.exit_code != 0 and "mapping.ref" in wrong.output and "no column 'Number'" in wrong.output


def test_only_a_manager_may_be_named_to_import_as(app, world, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("Nr;Name;Tel\nP-1;Ebba Lund;070-555 12 34\n", encoding="utf-8")
    base = ["recall", "import-csv", "--clinic", str(world.a.clinic.id), "--kind", "patients", "--map", "ref=Nr"]
    refused = app.test_cli_runner().invoke(args=[*base, "--as-staff", str(world.a.staff["operator"].id), str(path)])
    assert refused.exit_code != 0 and "not an active manager" in refused.output
    assert _patients(app) == []
    ok = app.test_cli_runner().invoke(args=[*base, "--as-staff", str(world.a.staff["manager"].id), str(path)])
    assert ok.exit_code == 0, ok.output
