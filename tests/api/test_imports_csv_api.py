"""POST /api/v1/imports/csv: a manager uploads a clinic's CSV file and gets every bad row back by line and column."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.factories import api_as

pytestmark = pytest.mark.db

FILE = (
    "\ufeffNr,Imię i nazwisko,Komórka,Język\n"
    "P-1,Zażółć Gęślą,+48 512 345 601,pl-PL\n"
    "P-2,Анна,xyz,ru\n"
    "\n"
    "P-3,王芳,+86 138 0013 8000,zh\n"
)
MAPPING = {"ref": "Nr", "full_name": "Imię i nazwisko", "phone": "Komórka", "language": "Język"}


def _post(client, world, who="manager", *, text=FILE, kind="patients", mapping=MAPPING, dry_run=None, extra=None):
    data = text if isinstance(text, bytes) else text.encode()
    form = {"file": (io.BytesIO(data), "pacjenci.csv"), "kind": kind}
    if mapping is not None:
        form["mapping"] = json.dumps(mapping)
    if dry_run is not None:
        form["dry_run"] = dry_run
    form.update(extra or {})
    return api_as(client, world.a, who).post("/imports/csv", data=form, content_type="multipart/form-data")


def _refs(database):
    with database.reader() as s:
        return sorted(s.scalars(sa.select(Patient.external_ref).where(Patient.external_ref.is_not(None))))


def test_a_file_with_good_and_bad_rows_imports_the_good_and_answers_each_bad_by_line_and_column(
    client, database, world
):
    response = _post(client, world)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert body["rows"] == 3 and body["dry_run"] is False
    [problem] = body["problems"]
    assert (problem["line"], problem["column"], problem["field"]) == (3, "Komórka", "phone")
    assert _refs(database) == ["P-1", "P-3"]
    again = _post(client, world).get_json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "refused": 1}


def test_a_dry_run_answers_the_same_and_writes_nothing(client, database, world):
    with nothing_written(database):
        body = _post(client, world, dry_run="true").get_json()
    assert body["dry_run"] is True and body["counts"]["created"] == 2 and len(body["problems"]) == 1


def test_an_appointments_file_naming_patients_we_do_not_know_is_answered_row_by_row(client, database, world):
    text = "id,patient,start,provider\nA-1,P-404,2026-03-05 13:00,D-1\n"
    body = _post(client, world, text=text, kind="appointments", mapping=None).get_json()
    assert body["counts"]["refused"] == 1
    assert [(p["line"], p["column"]) for p in body["problems"]] == [(2, "patient")]


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"kind": "staff"}, "kind"),
        ({"mapping": {"shoe": "Nr"}}, "mapping.shoe"),
        ({"mapping": {"ref": "Numer"}}, "mapping.ref"),
        ({"mapping": None}, "mapping.ref"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"text": "Nr,Name\n".encode("utf-16")}, "file"),
    ],
)
def test_a_request_that_cannot_be_read_is_a_422_naming_the_field_and_writes_nothing(
    client, database, world, changes, field
):
    with nothing_written(database):
        response = _post(client, world, **changes)
    assert_rejected(response, field)


def test_a_bad_mapping_text_and_a_missing_or_non_file_part_are_422(client, database, world):
    manager = api_as(client, world.a, "manager")
    with nothing_written(database):
        for form in (
            {"kind": "patients", "file": (io.BytesIO(FILE.encode()), "p.csv"), "mapping": "{not json"},
            {"kind": "patients", "file": (io.BytesIO(FILE.encode()), "p.csv"), "mapping": "[1, 2]"},
            {"kind": "patients"},
            {"kind": "patients", "file": "id,name,phone"},
        ):
            response = manager.post("/imports/csv", data=form, content_type="multipart/form-data")
            assert_rejected(response, ("mapping", "file"))


def test_json_or_no_body_is_refused_before_anything_is_read(client, database, world):
    manager = api_as(client, world.a, "manager")
    with nothing_written(database):
        body = assert_error(manager.post("/imports/csv", json={"kind": "patients"}), 415, "unsupported_media_type")
        assert "multipart/form-data" in body["message"] and "body" in body["fields"]
        assert_rejected(manager.post("/imports/csv"), "body", status=400)


def test_a_file_of_more_rows_than_a_request_imports_is_a_422_on_file_and_writes_nothing(client, database, world):
    rows = "".join(f"P-{n},Name {n},070-555 {n:04d}\n" for n in range(2001))
    with nothing_written(database):
        response = _post(client, world, text="id,name,phone\n" + rows, mapping=None)
    body = assert_rejected(response, "file")
    assert "2001 rows" in body["fields"]["file"][0] and "recall import-csv" in body["fields"]["file"][0]


def test_a_body_over_the_services_limit_is_a_413(client, database, world):
    boundary = "recall-test-boundary"
    big = "id,name,phone\n" + "P,N,070\n" * (1024 * 1024 // 8 + 10)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\npatients\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n{big}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    manager = api_as(client, world.a, "manager")
    with nothing_written(database):
        response = manager.post("/imports/csv", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert_error(response, 413, "too_large")


@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_only_a_manager_imports(client, database, world, who):
    with nothing_written(database):
        assert_error(_post(client, world, who), 403, "forbidden")
