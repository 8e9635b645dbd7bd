"""The JSON logs of a realistic session: every line parses, every request is logged once with its id, and no
line carries a name, a phone, an SMS text or a token."""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from integrations.twilio.standin import StandIn
from recall.common.logs import configure
from recall.web import create_app
from recall.worker import WorkerSettings, build_dispatcher
from tests.factories import api_as, iso

SECRET_NAME = "Zofia Kamińska-Logowa"
SECRET_PHONE = "+48 698 765 433"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger's records as JSON lines into a buffer, for this test only."""
    stream = io.StringIO()
    root = logging.getLogger()
    before = root.level
    configure("INFO", "json", stream)
    yield stream
    for handler in [h for h in root.handlers if getattr(h, "_recall_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(before)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_session_logs_one_parseable_line_per_request_and_no_patient_data(
    client, world, json_lines, monkeypatch, database, clock
):
    api = api_as(client, world.a, "frontdesk")
    token = world.a.tokens["frontdesk"]
    answers = [
        api.post("/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE, "external_ref": "EMR-5511"}),
        api.post("/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE, "external_ref": "EMR-5511"}),
        api.post("/patients", json={"full_name": SECRET_NAME, "phone": "12345abc"}),
        api.get(f"/patients?q={SECRET_NAME}&phone=%2B48698765433"),
        client.get("/api/v1/clinic", headers={"X-Request-ID": "crm-trace-42"}),
        client.get("/api/v1/clinic", headers={"X-Request-ID": "bad id with spaces " + SECRET_NAME}),
    ]
    assert [a.status_code for a in answers] == [201, 409, 422, 200, 401, 401]

    # A crash: a view that fails with patient data in its message, in an app of its own.
    crashing = create_app("test", database=database, clock=clock)

    @crashing.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError(f"cannot store {SECRET_NAME} {SECRET_PHONE}")

    crashed = crashing.test_client().get("/boom")
    assert crashed.status_code == 500
    answers.append(crashed)

    lines = _lines(json_lines)
    requests_logged = [line for line in lines if line["logger"] == "recall.requests"]
    ids = [a.headers["X-Request-ID"] for a in answers]
    assert ids[4] == "crm-trace-42" and ids[5] != "bad id with spaces " + SECRET_NAME  # a plain id is kept
    assert Counter(line["request_id"] for line in requests_logged) == Counter(ids)  # each once
    by_id = {line["request_id"]: line for line in requests_logged}
    first = by_id[ids[0]]
    assert first["route"] == "/api/v1/patients" and first["method"] == "POST" and first["status"] == 201
    assert first["staff_id"] == world.a.staff["frontdesk"].id and first["clinic_id"] == world.a.clinic.id
    assert first["duration_ms"] >= 0 and first["level"] == "INFO" and first["time"]
    assert by_id[ids[6]]["status"] == 500 and by_id[ids[6]]["route"] == "/boom"
    crash = [line for line in lines if line["logger"] == "recall.web" and "RuntimeError" in line["message"]]
    assert len(crash) == 1 and crash[0]["request_id"] == ids[6]
    text = json_lines.getvalue()
    for secret in (SECRET_NAME, "Kamińska", "698765433", "698 765 433", "EMR-5511", token, "12345abc"):
        assert secret not in text, secret


VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def test_a_twilio_failure_is_one_json_line_with_its_code_and_no_phone_or_text(
    app, client, world, database, clock, json_lines
):
    manager = api_as(client, world.a, "manager")
    policy = {"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "sender": {"from_number": "+46850000000"}}
    assert manager.put("/clinic/reminder-policy", json=policy).status_code == 200
    patient = api_as(client, world.a, "frontdesk").post(
        "/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE}
    )
    booked = api_as(client, world.a, "operator").post(
        "/bookings",
        json={"patient_id": patient.json["id"], "service_id": world.a.services[0].id, "start_at": iso(VISIT),
              "channel": "phone"},
    )  # fmt: skip
    assert booked.status_code == 201, booked.json
    clock.set(VISIT - timedelta(hours=24))
    config = {**app.config, "PUBLIC_BASE_URL": "https://clinic.example.com"}
    with StandIn(auth_token=config["TWILIO_AUTH_TOKEN"], account_sid=config["TWILIO_ACCOUNT_SID"]) as standin:
        standin.add_fault(status=400, code=21610, times=1)  # the number has unsubscribed: a refusal for good
        dispatcher, gateway = build_dispatcher(
            WorkerSettings.from_settings({**config, "TWILIO_BASE_URL": standin.base_url}), database, clock
        )
        try:
            assert dispatcher.drain().outcomes == {"failed": 1}
        finally:
            gateway.close()
    [failed] = [line for line in _lines(json_lines) if line["message"] == "reminder failed"]
    assert failed["twilio_code"] == 21610 and failed["channel"] == "sms" and failed["clinic_id"] == world.a.clinic.id
    assert failed["booking_id"] == booked.json["id"] and failed["level"] == "INFO"
    text = json_lines.getvalue()
    for secret in (SECRET_NAME, "698765433", "Kamińska"):
        assert secret not in text
