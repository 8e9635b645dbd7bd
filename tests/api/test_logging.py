"""Patient data stays out of the logs, also when a request fails, and also at DEBUG, where SQLAlchemy logs the
statements' parameters and the rows it fetches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
import sqlalchemy as sa

from integrations.twilio import signatures
from integrations.twilio.standin import StandIn
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import hash_token
from recall.web import webhooks
from recall.worker import WorkerSettings, build_dispatcher
from tests.factories import Api, api_as, iso

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
    import recall.clinic.patients

    def explode(*_args, **_kwargs):
        raise RuntimeError(f"cannot store {SECRET_NAME} {SECRET_PHONE}")

    monkeypatch.setattr(recall.clinic.patients, "create_patient", explode)
    with caplog.at_level(logging.DEBUG):
        response = api_as(client, world.a, "frontdesk").post(
            "/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE}
        )
    assert response.status_code == 500 and response.json["error"] == "internal_error"
    assert "RuntimeError" in caplog.text
    assert SECRET_NAME not in caplog.text and "698" not in caplog.text
    assert SECRET_NAME not in response.get_data(as_text=True)


# --- SQL never logs patient data ------------------------------------------------------------------------------------

REPLY_TEXT = "Czy mogę przyjść w piątek po szesnastej? Pozdrawiam, Zofia"
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm: the SMS goes a day ahead
CALLBACK_BASE = "https://clinic.example.com"
CLINIC_NUMBER = "+46850000000"


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Root, SQLAlchemy (engine, pool, ORM), werkzeug, recall.*, the Twilio side: all at DEBUG, all captured."""
    names = [
        "sqlalchemy",
        "sqlalchemy.engine",
        "sqlalchemy.engine.Engine",
        "sqlalchemy.pool",
        "sqlalchemy.orm",
        "werkzeug",
        "flask",
        "recall",
        "recall.web",
        "recall.web.webhooks",
        "recall.dispatch",
        "recall.inbound",
        "integrations",
        "integrations.twilio",
        "twilio",
        "urllib3",
        *logging.root.manager.loggerDict,
    ]
    caplog.set_level(logging.DEBUG)  # the root logger and the capturing handler
    for name in dict.fromkeys(names):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured line as a handler would write it, exceptions and their tracebacks included."""
    handler = logging.StreamHandler()
    return "\n".join(handler.format(record) for record in caplog.records)


def test_a_whole_session_at_debug_logs_no_name_phone_sms_text_or_token(
    app, client, world, database, clock, every_logger_at_debug
):
    caplog = every_logger_at_debug
    manager, desk = api_as(client, world.a, "manager"), api_as(client, world.a, "frontdesk")
    # The clinic reminds by SMS a day ahead, from its own number, which is where the patient's answer goes.
    assert (
        manager.put(
            "/clinic/reminder-policy",
            json={"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "sender": {"from_number": CLINIC_NUMBER}},
        ).status_code
        == 200
    )
    issued = manager.post(f"/staff/{world.a.staff['operator'].id}/tokens", json={"label": "headset"})
    assert issued.status_code == 201, issued.json
    token = issued.json["token"]
    operator = Api(client, token)

    made = desk.post(
        "/patients",
        json={
            "full_name": SECRET_NAME,
            "phone": SECRET_PHONE,
            "language": "pl",
            "external_ref": "EMR-998877",
            "consent_sms": True,
        },
    )
    assert made.status_code == 201, made.json
    patient = made.json["id"]
    assert (
        desk.post(
            "/patients", json={"full_name": SECRET_NAME, "phone": SECRET_PHONE, "external_ref": "EMR-998877"}
        ).status_code
        == 409
    )
    booked = operator.post(
        "/bookings",
        json={"patient_id": patient, "service_id": world.a.services[0].id, "start_at": iso(VISIT), "channel": "phone"},
    )
    assert booked.status_code == 201, booked.json

    # The day before, the worker sends the reminder through the real SDK to the stand-in ...
    clock.set(VISIT - timedelta(hours=24))
    config = {**app.config, "PUBLIC_BASE_URL": CALLBACK_BASE}
    with StandIn(auth_token=config["TWILIO_AUTH_TOKEN"], account_sid=config["TWILIO_ACCOUNT_SID"]) as standin:
        dispatcher, gateway = build_dispatcher(
            WorkerSettings.from_settings({**config, "TWILIO_BASE_URL": standin.base_url}), database, clock
        )
        try:
            assert dispatcher.drain().outcomes == {"sent": 1}
        finally:
            gateway.close()
        [sms] = standin.messages()
    assert sms["from"] == CLINIC_NUMBER
    # ... and the patient answers it with a question for a person.
    form = {
        "MessageSid": "SM" + "5" * 32,
        "SmsSid": "SM" + "5" * 32,
        "AccountSid": config["TWILIO_ACCOUNT_SID"],
        "From": sms["to"],
        "To": sms["from"],
        "Body": REPLY_TEXT,
    }
    url = f"{webhooks.PREFIX}/inbound-sms"
    answer = client.post(
        url,
        data=form,
        headers={"X-Twilio-Signature": signatures.sign(config["TWILIO_AUTH_TOKEN"], f"http://localhost{url}", form)},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert operator.get(f"/patients/{patient}").json["full_name"] == SECRET_NAME
    tasks = operator.get("/recall-tasks?status=open&page_size=200").json["items"]
    assert any(task["patient_id"] == patient for task in tasks), "the reply became an operator's work"
    assert operator.get(f"/bookings/{booked.json['id']}").status_code == 200

    logged = _everything_logged(caplog)
    # The run logged what a DEBUG log holds: statements, the rows' lines and the pool, so the check below has teeth.
    assert "INSERT INTO patients" in logged and "FROM patients" in logged
    assert "Row " in logged and any(record.name.startswith("sqlalchemy.pool") for record in caplog.records)
    digits = phonenumbers.format_number(phonenumbers.parse(SECRET_PHONE), phonenumbers.PhoneNumberFormat.E164)
    secrets_ = {
        "name": SECRET_NAME,
        "surname": "Kamińska",
        "phone": digits,
        "national phone": digits[3:],
        "reply": REPLY_TEXT,
        "reply words": "szesnastej",
        "reminder text": sms["body"],
        "token": token,
        "token hash": hash_token(token),
        "external ref": "EMR-998877",
    }
    assert {what: value for what, value in secrets_.items() if value in logged} == {}


def test_a_database_error_carries_no_parameters_in_its_message(database, world):
    now = datetime.now(UTC)
    row = {
        "clinic_id": world.a.clinic.id,
        "full_name": SECRET_NAME,
        "phone_e164": "+48698765432",
        "language": Language.PL,
        "external_ref": "EMR-998877",
        "created_at": now,
        "updated_at": now,
    }
    with database.writer() as s:
        with pytest.raises(sa.exc.IntegrityError) as duplicate:
            s.execute(sa.insert(Patient), [row, {**row, "full_name": "Jan Kowalski-Drugi"}])
            s.flush()
        s.rollback()
        with pytest.raises(sa.exc.IntegrityError) as no_clinic:
            s.execute(sa.insert(Patient), [{**row, "clinic_id": 999_999, "external_ref": None}])
            s.flush()
        s.rollback()
        errors = [duplicate.value, no_clinic.value]
        if database.dialect == "postgresql":  # SQLite stores a string of any length
            with pytest.raises(sa.exc.DBAPIError) as too_long:
                s.execute(sa.insert(Patient), [{**row, "external_ref": "x" * 5000}])
            s.rollback()
            errors.append(too_long.value)
    for error in errors:
        message = str(error)
        assert "parameters hidden" in message, message
        assert SECRET_NAME not in message and "698765432" not in message and "Drugi" not in message, message


def test_looking_up_a_lost_send_at_debug_logs_no_phone(every_logger_at_debug, gateway):
    """The recovery of a lost send lists Twilio's messages and calls to the patient's number: the number travels
    in the query string, which urllib3 writes into its DEBUG line for every request."""
    from recall.reminders.sending import SenderIdentity

    phone, sender_number = "+46701234567", "+46850000000"
    since = datetime.now(UTC) - timedelta(hours=1)
    sender = SenderIdentity(from_number=sender_number)
    assert gateway.messages_since(to=phone, sender=sender, since=since) == []
    assert gateway.calls_since(to=phone, sender=sender, since=since) == []
    logged = _everything_logged(every_logger_at_debug)
    assert "Messages.json" in logged and "Calls.json" in logged  # the request lines are there, without the query
    for secret in (phone, phone.lstrip("+"), "%2B46701234567", sender_number.lstrip("+")):
        assert secret not in logged
