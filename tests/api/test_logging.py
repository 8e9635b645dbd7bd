"""Patient data stays out of the logs, also when a request fails."""

from __future__ import annotations

import logging

from tests.factories import api_as

SECRET_NAME = "Zofia Kamińska-Testowa"
SECRET_PHONE = "+48 698 765 432"


def test_a_uniqueness_conflict_logs_no_patient_data(client, world, caplog):
    api = api_as(client, world.a, "frontdesk")
    body = {"full_name": SECRET_NAME, "phone": SECRET_PHONE, "external_ref": "EMR-998877"}
    with caplog.at_level(logging.DEBUG):
        assert api.post("/patients", json=body).status_code == 201
        response = api.post("/patients", json=body)
    assert response.status_code == 409 and response.json["error"] == "conflict"
    for secret in (SECRET_NAME, "698", "EMR-998877"):
        assert secret not in caplog.text


def test_an_unexpected_failure_is_a_json_500_whose_log_has_no_patient_data(client, world, caplog, monkeypatch):
    import recall.patients

    def explode(*_args, **_kwargs):
        raise RuntimeError(f"cannot store {SECRET_NAME} {SECRET_PHONE}")

    monkeypatch.setattr(recall.patients, "create_patient", explode)
    with caplog.at_level(logging.DEBUG):
        response = api_as(client, world.a, "frontdesk").post(
            "/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE})
    assert response.status_code == 500 and response.json["error"] == "internal_error"
    assert "RuntimeError" in caplog.text
    assert SECRET_NAME not in caplog.text and "698" not in caplog.text
    assert SECRET_NAME not in response.get_data(as_text=True)
