"""Contract tests: what TwilioGateway sends must satisfy Twilio's own OpenAPI description.

Stoplight Prism serves ``shared/twilio-oai/twilio_api_v2010.json`` as a
validating mock; the real SDK, through the gateway, talks to it. Prism answers a
request that breaks the contract with a 4xx (422 for a bad body or path, 401
without basic auth), which the gateway raises as a PermanentSendError: every
positive test below fails on it and prints Prism's validation messages.

Prism installs itself (npm, pinned version) into ``<repo>/.tools/prism`` on
first use. Without node/npm the tests skip, except under CI where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from integrations.twilio.client import TwilioGateway
from recall.reminders.sending import PermanentSendError, SenderIdentity, SendError, SendResult

REPO = Path(__file__).resolve().parents[2]
SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
PRISM_VERSION = "5.16.0"
TOOLS = REPO / ".tools" / "prism"
PRISM_BIN = TOOLS / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = TOOLS / "node_modules" / "@stoplight" / "prism-cli" / "package.json"

ACCOUNT = "AC" + "7" * 32
TOKEN = "contract-test-token"
PATIENT = "+46700000001"
CALLBACK = "https://clinic.example.org/webhooks/twilio/sms-status?attempt=17&try=1"
T = TypeVar("T")


def unavailable(reason: str) -> None:
    """Skip locally; under CI a missing tool is a broken pipeline, not a pass."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def installed_version() -> str | None:
    try:
        return str(json.loads(PRISM_PACKAGE.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prism:
    base_url: str
    log: Path

    def errors_since(self, offset: int) -> str:
        """Prism's validator and error lines logged after ``offset`` bytes of its log."""
        text = self.log.read_bytes()[offset:].decode("utf-8", "replace")
        return "\n".join(line for line in text.splitlines() if "✖" in line or "VALIDATOR" in line)

    def mark(self) -> int:
        return self.log.stat().st_size

    def accepted(self, action: Callable[[], T]) -> T:
        """Run ``action``; a refusal from Prism fails the test with Prism's reasons."""
        offset = self.mark()
        try:
            return action()
        except SendError as error:
            time.sleep(0.2)  # let Prism flush its log
            pytest.fail(f"Prism refused the request ({error!r}):\n{self.errors_since(offset)}")


@pytest.fixture(scope="session")
def prism_bin() -> Path:
    if not SPEC.is_file():
        unavailable(f"Twilio's OpenAPI description is missing at {SPEC}")
    npm = shutil.which("npm")
    TOOLS.mkdir(parents=True, exist_ok=True)
    # Test processes running in parallel (pytest-xdist) install once: the others wait on the lock.
    with open(TOOLS.parent / "prism.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if PRISM_BIN.exists() and installed_version() == PRISM_VERSION:
            return PRISM_BIN
        if npm is None or shutil.which("node") is None:
            unavailable("node and npm are needed to install Stoplight Prism for the Twilio contract tests")
        started = time.monotonic()
        done = subprocess.run(
            [
                str(npm),
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                f"@stoplight/prism-cli@{PRISM_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0 or not PRISM_BIN.exists():
            pytest.fail(f"npm could not install Prism {PRISM_VERSION}:\n{done.stdout}\n{done.stderr}")
        print(f"installed Prism {PRISM_VERSION} in {time.monotonic() - started:.1f}s")
        return PRISM_BIN


@pytest.fixture(scope="session")
def prism_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec with OpenAPI's default form encoding spelled out for array fields.

    OpenAPI 3 says form bodies default to ``style: form, explode: true``, but
    Prism 5 only deserializes an array field when an ``encoding`` entry says so
    (otherwise ``StatusCallbackEvent`` is a string and "must be array"). Writing
    the default down changes nothing in the contract. Prism also keeps only the
    last of repeated keys, so it sees one of the events we send, not all four.
    """
    spec = json.loads(SPEC.read_text())
    for item in spec["paths"].values():
        for operation in item.values():
            form = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in form.values():
                properties = media.get("schema", {}).get("properties", {})
                arrays = [name for name, prop in properties.items() if prop.get("type") == "array"]
                for name in arrays:
                    media.setdefault("encoding", {}).setdefault(name, {"style": "form", "explode": True})
    path = tmp_path_factory.mktemp("prism") / "twilio_api_v2010.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="session")
def prism(prism_bin: Path, prism_spec: Path) -> Iterator[Prism]:
    port, log = free_port(), prism_spec.parent / "prism.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(prism_bin), "mock", str(prism_spec), "-p", str(port), "-h", "127.0.0.1", "--errors"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Prism(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 90
        while b"Prism is listening" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prism did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def gateway(prism: Prism) -> Iterator[TwilioGateway]:
    gw = TwilioGateway(ACCOUNT, TOKEN, base_url=prism.base_url, timeout=10.0)
    yield gw
    gw.close()


def sms(gateway: TwilioGateway, sender: SenderIdentity, **kw: Any) -> Callable[[], SendResult]:
    return lambda: gateway.send_sms(
        to=PATIENT,
        body=kw.get("body", "Time to book your check-up. Reply 1 to book."),
        status_callback=kw.get("status_callback", CALLBACK),
        idempotency_key="attempt-17",
        sender=sender,
    )


def test_an_sms_from_a_clinic_number_meets_twilios_contract(prism: Prism, gateway: TwilioGateway) -> None:
    result = prism.accepted(sms(gateway, SenderIdentity(from_number="+46850000000")))

    assert result.sid == "SM" + "a" * 32, "the answer must come from Prism's example"
    assert result.status == "queued"


def test_an_sms_through_a_messaging_service_meets_twilios_contract(prism: Prism, gateway: TwilioGateway) -> None:
    result = prism.accepted(sms(gateway, SenderIdentity(messaging_service_sid="MG" + "b" * 32)))

    assert result.sid.startswith("SM")


def test_an_sms_with_a_status_callback_query_and_non_latin_text_meets_twilios_contract(
    prism: Prism, gateway: TwilioGateway
) -> None:
    send = sms(
        gateway,
        SenderIdentity(from_number="+46850000000"),
        body="您好！请预约复查。Ответьте 1.",
        status_callback="http://127.0.0.1:8000/webhooks/twilio/sms-status?attempt=9&sig=a%2Fb",
    )

    assert prism.accepted(send).status == "queued"


def test_a_reminder_call_with_progress_events_meets_twilios_contract(prism: Prism, gateway: TwilioGateway) -> None:
    result = prism.accepted(
        lambda: gateway.place_call(
            to=PATIENT,
            twiml_url="https://clinic.example.org/webhooks/twilio/voice/reminder?attempt=3",
            status_callback="https://clinic.example.org/webhooks/twilio/call-status?attempt=3",
            idempotency_key="attempt-3",
            sender=SenderIdentity(from_number="+46850000000"),
        )
    )

    assert result.sid.startswith("CA") and len(result.sid) == 34


def test_fetching_a_message_and_a_call_meets_twilios_contract(prism: Prism, gateway: TwilioGateway) -> None:
    message = prism.accepted(lambda: gateway.fetch_message("SM" + "c" * 32))
    call = prism.accepted(lambda: gateway.fetch_call("CA" + "d" * 32))

    assert message.sid.startswith("SM") and message.status
    assert call.sid.startswith("CA") and call.status


def test_looking_up_what_was_sent_to_a_number_meets_twilios_contract(prism_dynamic: Prism) -> None:
    """The recovery of a lost send lists the messages and calls to the patient from our sender. (Against Prism in
    dynamic mode: the spec's own example list answers break its ``uri`` format, which ``--errors`` turns into a
    500; a request that breaks the contract is refused with a 422 either way.)"""
    from datetime import datetime

    since = datetime(1970, 1, 1, tzinfo=UTC)
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=prism_dynamic.base_url, timeout=10.0)
    try:
        number = SenderIdentity(from_number="+46850000000")
        messages = prism_dynamic.accepted(lambda: gateway.messages_since(to=PATIENT, sender=number, since=since))
        calls = prism_dynamic.accepted(lambda: gateway.calls_since(to=PATIENT, sender=number, since=since))
        prism_dynamic.accepted(
            lambda: gateway.messages_since(
                to=PATIENT, sender=SenderIdentity(messaging_service_sid="MG" + "b" * 32), since=since
            )
        )
    finally:
        gateway.close()

    assert all(m.sid for m in messages) and all(c.sid for c in calls)


def test_prism_refuses_a_message_without_to_so_these_tests_can_fail(prism: Prism) -> None:
    answer = requests.post(
        f"{prism.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"From": "+46850000000", "Body": "hello"},
        auth=(ACCOUNT, TOKEN),
        timeout=10,
    )

    assert answer.status_code == 422, answer.text
    assert "required property 'To'" in json.dumps(answer.json()["validation"])


def test_prism_refuses_a_request_without_basic_auth(prism: Prism) -> None:
    answer = requests.post(
        f"{prism.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": PATIENT, "From": "+46850000000", "Body": "hello"},
        timeout=10,
    )

    assert answer.status_code == 401, answer.text


def test_a_contract_violation_through_the_gateway_is_a_permanent_error(prism: Prism) -> None:
    broken = TwilioGateway("AC-not-an-account-sid", TOKEN, base_url=prism.base_url)
    offset = prism.mark()
    try:
        with pytest.raises(PermanentSendError) as raised:
            sms(broken, SenderIdentity(from_number="+46850000000"))()
    finally:
        broken.close()

    assert raised.value.status == 422
    time.sleep(0.2)
    assert "accountsid" in prism.errors_since(offset).lower()


# --- the worker against Prism: what Twilio's spec lets it answer is recorded as it is -----------------------------


@pytest.fixture(scope="session")
def prism_dynamic(prism_bin: Path, prism_spec: Path) -> Iterator[Prism]:
    """Prism in dynamic mode (``-d``): every answer is generated from the spec's schemas, so a create may come
    back with any status the spec allows (``failed``, ``canceled``...), a null SID or a null status."""
    port, log = free_port(), prism_spec.parent / "prism-dynamic.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(prism_bin), "mock", "-d", str(prism_spec), "-p", str(port), "-h", "127.0.0.1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Prism(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 90
        while b"Prism is listening" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prism did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _recording_gateway(base_url: str) -> tuple[TwilioGateway, dict[str, dict[str, Any]]]:
    """The real gateway, noting each create's answer by destination (each patient has a number of their own)."""
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=base_url, timeout=10.0)
    answers: dict[str, dict[str, Any]] = {}
    send = gateway.http.request

    def request(method: str, url: str, params: Any = None, data: Any = None, *args: Any, **kw: Any) -> Any:
        response = send(method, url, params, data, *args, **kw)
        if method.upper() == "POST" and data and "To" in data:
            answers[str(data["To"])] = json.loads(response.text)
        return response

    gateway.http.request = request  # type: ignore[method-assign]
    return gateway, answers


def _dispatch_to(database: Any, world: Any, people: Any, base_url: str, n: int) -> tuple[list[Any], dict[str, Any]]:
    import sqlalchemy as sa

    from recall.common.clock import FixedClock
    from recall.reminders.reminders import Reminder
    from tests.api.dispatching import SMS_TIME, booked, dispatcher_for, policy_at

    clock = FixedClock(SMS_TIME - timedelta(days=1))
    policy_at(database, clock, people, None)
    booked(database, clock, world, people, n=n)
    clock.set(SMS_TIME)
    gateway, answers = _recording_gateway(base_url)
    try:
        dispatcher_for(database, clock, gateway, concurrency=8).drain(max_seconds=60)
    finally:
        gateway.close()
    with database.reader() as s:
        rows = s.execute(
            sa.select(
                Reminder.id,
                Reminder.status,
                Reminder.provider_sid,
                Reminder.provider_status,
                Reminder.outcome,
                Reminder.error_code,
                Reminder.fallback_of_id,
                Reminder.patient_id,
            )
        ).all()
    return rows, answers


def test_the_worker_records_each_answer_of_twilios_spec_as_it_is(
    prism_dynamic: Prism, database: Any, world: Any, people: Any
) -> None:
    import sqlalchemy as sa

    from integrations.twilio.reports import FAILED_ON_CREATE
    from recall.clinic.patients import Patient
    from recall.reminders.reminders import ReminderStatus

    rows, answers = _dispatch_to(database, world, people, prism_dynamic.base_url, 40)

    with database.reader() as s:
        phone = dict(s.execute(sa.select(Patient.id, Patient.phone_e164)).all())
    firsts = [row for row in rows if row.fallback_of_id is None]
    assert len(answers) == len(firsts) == 40
    seen = Counter()
    for row in firsts:
        answer = answers[phone[row.patient_id]]
        seen[answer.get("status")] += 1
        assert row.provider_sid == answer.get("sid"), (row, answer)  # a null SID stays null, never "None"
        assert row.provider_status == answer.get("status"), (row, answer)
        if answer.get("status") in FAILED_ON_CREATE:
            assert row.status is ReminderStatus.FAILED, (row, answer)
            assert row.error_code == answer.get("error_code")
        elif answer.get("status") in ("delivered", "read"):
            assert row.status is ReminderStatus.DELIVERED, (row, answer)
        else:
            assert (row.status, row.error_code) == (ReminderStatus.SENT, answer.get("error_code")), (row, answer)
    print(f"\nPrism's answers by status: {dict(seen)}")
    assert not any(row.status in (ReminderStatus.SENDING, ReminderStatus.UNKNOWN) for row in rows)


def test_prisms_one_example_sid_for_every_message_loses_no_success(
    prism: Prism, database: Any, world: Any, people: Any
) -> None:
    """Prism's static mode answers every create with the spec's example SID: one reminder keeps it, the others are
    sent without one (``duplicate_sid``), and none is left ``sending`` or taken for a lost send."""
    from recall.reminders.reminders import ReminderStatus

    rows, answers = _dispatch_to(database, world, people, prism.base_url, 12)

    assert len(answers) == 12 and {a["sid"] for a in answers.values()} == {"SM" + "a" * 32}
    assert Counter(row.status for row in rows) == {ReminderStatus.SENT: 12}
    assert Counter((row.provider_sid, row.outcome) for row in rows) == {
        ("SM" + "a" * 32, None): 1,
        (None, "duplicate_sid"): 11,
    }
