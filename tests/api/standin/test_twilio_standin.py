"""The Twilio stand-in over real HTTP, driven through the real SDK by TwilioGateway.

These prove two things at once: the stand-in behaves like Twilio where we rely
on it (SIDs, error JSON, auth, callbacks signed over the exact URL), and the
gateway turns every way a send can fail into the right SendError.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from integrations.twilio import signatures
from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from recall.reminders.sending import (
    PermanentSendError,
    SenderIdentity,
    SendError,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
)

ACCOUNT = "AC" + "5" * 32
TOKEN = "stand-in-secret"
FROM = SenderIdentity(from_number="+46850000000")
PATIENT = "+46700000001"
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Receiver:
    """A tiny webhook receiver: records every POST and answers with ``reply``."""

    url: str
    hits: list[dict[str, Any]] = field(default_factory=list)
    reply: str = "<Response/>"

    def posted(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.hits)


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn(auth_token=TOKEN, account_sid=ACCOUNT) as server:
        yield server


@pytest.fixture
def twilio(standin: StandIn) -> Iterator[StandIn]:
    standin.reset()
    yield standin
    standin.reset()


@pytest.fixture
def gateway(twilio: StandIn) -> Iterator[TwilioGateway]:
    yield (gw := TwilioGateway(ACCOUNT, TOKEN, base_url=twilio.base_url, timeout=1.0))
    gw.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = dict(parse_qsl(body, keep_blank_values=True))
            box["r"].hits.append({"path": self.path, "headers": dict(self.headers), "form": form})
            payload = box["r"].reply.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()
    thread.join()


def send(gateway: TwilioGateway, to: str = PATIENT, key: str = "attempt-1", **kw: Any) -> SendResult:
    return gateway.send_sms(
        to=to,
        body=kw.pop("body", "Time for your check-up"),
        status_callback=kw.pop("status_callback", "http://127.0.0.1:9/status"),
        idempotency_key=key,
        sender=kw.pop("sender", FROM),
    )


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signed_ok(hit: dict[str, Any], url: str) -> bool:
    return signatures.verify(TOKEN, url, hit["form"], hit["headers"].get("X-Twilio-Signature"))


def test_a_message_send_returns_a_unique_sid_and_is_recorded(gateway: TwilioGateway, twilio: StandIn) -> None:
    first, second = send(gateway, key="a"), send(gateway, key="b")

    assert first.sid != second.sid
    assert first.sid.startswith("SM") and len(first.sid) == 34
    assert first.status == "queued"
    recorded = [r for r in twilio.requests if r.method == "POST"]
    assert [(r.sid, r.status, r.idempotency_key) for r in recorded] == [(first.sid, 201, "a"), (second.sid, 201, "b")]
    assert recorded[0].value("From") == FROM.from_number and recorded[0].value("To") == PATIENT
    assert gateway.fetch_message(first.sid) == first


def test_a_messaging_service_sender_is_sent_as_messaging_service_sid(gateway: TwilioGateway, twilio: StandIn) -> None:
    result = send(gateway, sender=SenderIdentity(messaging_service_sid="MG" + "1" * 32))

    assert result.status == "accepted"
    assert twilio.requests[-1].value("MessagingServiceSid") == "MG" + "1" * 32
    assert twilio.requests[-1].value("From") is None


def test_an_sms_sender_must_name_exactly_one_of_number_or_service(gateway: TwilioGateway) -> None:
    for sender in (SenderIdentity(), SenderIdentity(from_number="+1", messaging_service_sid="MG1")):
        with pytest.raises(ValueError):
            send(gateway, sender=sender)
    with pytest.raises(ValueError):
        gateway.place_call(
            to=PATIENT,
            twiml_url="http://127.0.0.1:9/t",
            status_callback="http://127.0.0.1:9/s",
            idempotency_key="c",
            sender=SenderIdentity(messaging_service_sid="MG1"),
        )


def test_a_call_is_queued_with_its_twiml_url_and_progress_events(gateway: TwilioGateway, twilio: StandIn) -> None:
    result = gateway.place_call(
        to=PATIENT,
        twiml_url="http://127.0.0.1:9/twiml",
        sender=FROM,
        status_callback="http://127.0.0.1:9/call-status",
        idempotency_key="call-1",
    )

    assert result.sid.startswith("CA") and result.status == "queued"
    form = twilio.requests[-1].form
    assert form["Url"] == ["http://127.0.0.1:9/twiml"] and form["Method"] == ["POST"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert gateway.fetch_call(result.sid) == result


FAULTS = [
    ({"status": 429, "code": 20429}, TransientSendError, "rate_limited"),
    ({"status": 500}, TransientSendError, "provider_error"),
    ({"status": 503, "code": 20503}, TransientSendError, "provider_error"),
    ({"status": 400, "code": 21610}, PermanentSendError, "opted_out"),
    ({"status": 400, "code": 21211}, PermanentSendError, "invalid_phone"),
    ({"status": 400, "code": 21614}, PermanentSendError, "invalid_phone"),
    ({"status": 400, "code": 21612}, PermanentSendError, "unreachable_destination"),
    ({"status": 400, "code": 21408}, PermanentSendError, "unreachable_destination"),
    ({"status": 400, "code": 30007}, PermanentSendError, "rejected"),
    ({"timeout": True}, UnknownOutcomeError, "read_timeout"),
    ({"drop": True}, UnknownOutcomeError, "connection_lost"),
]


@pytest.mark.parametrize(("fault", "error", "reason"), FAULTS, ids=[str(f[0]) for f in FAULTS])
def test_each_injected_fault_becomes_the_matching_send_error(
    gateway: TwilioGateway, twilio: StandIn, fault: dict[str, Any], error: type[SendError], reason: str
) -> None:
    twilio.add_fault(**fault)

    with pytest.raises(error) as raised:
        send(gateway)

    assert type(raised.value) is error and raised.value.reason == reason
    if "code" in fault:
        assert raised.value.code == fault["code"] and raised.value.status == fault["status"]
    assert PATIENT not in str(raised.value)
    assert send(gateway).status == "queued", "a one-shot fault is used up"


def test_a_timed_out_send_may_still_have_created_the_message(gateway: TwilioGateway, twilio: StandIn) -> None:
    twilio.add_fault(timeout=True, hang_ms=5000)
    started = time.monotonic()

    with pytest.raises(UnknownOutcomeError):
        send(gateway, key="ambiguous")

    assert time.monotonic() - started < 3, "the read timeout, not the stand-in's hang, ended the wait"
    [created] = twilio.messages(to=PATIENT)
    assert twilio.requests[-1].status is None and twilio.requests[-1].sid == created["sid"]
    assert gateway.fetch_message(created["sid"]).status == "queued"


def test_a_timeout_that_was_not_accepted_leaves_no_message(gateway: TwilioGateway, twilio: StandIn) -> None:
    twilio.add_fault(drop=True, accept=False)

    with pytest.raises(UnknownOutcomeError):
        send(gateway)

    assert twilio.messages() == []


def test_a_request_whose_sender_died_mid_body_creates_nothing(twilio: StandIn) -> None:
    """A worker killed while writing its request leaves half a body; Twilio acts only on whole requests."""
    body = "To=%2B46700000001&From=%2B46850000000&Body=Hello&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fs"
    head = (
        f"POST /2010-04-01/Accounts/{ACCOUNT}/Messages.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    port = int(twilio.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + body[:20].encode())
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1024) == b""  # closed without an answer

    assert twilio.requests == [] and twilio.messages() == []


def test_a_refused_port_is_transient_because_nothing_was_sent() -> None:
    gw = TwilioGateway(ACCOUNT, TOKEN, base_url=f"http://127.0.0.1:{unused_port()}", timeout=2.0)
    try:
        with pytest.raises(TransientSendError) as raised:
            send(gw)
    finally:
        gw.close()
    assert raised.value.reason == "connection_failed"


def test_a_fault_for_one_number_applies_every_time_and_only_to_that_number(
    gateway: TwilioGateway, twilio: StandIn
) -> None:
    twilio.add_fault(status=400, code=21211, to="+46700000013", times=None)

    for _ in range(3):
        with pytest.raises(PermanentSendError, match="invalid_phone"):
            send(gateway, to="+46700000013")
    assert send(gateway, to="+46700000014").status == "queued"


def test_a_fault_for_n_sends_then_lets_them_through(gateway: TwilioGateway, twilio: StandIn) -> None:
    twilio.add_fault(status=429, code=20429, times=2)

    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(send(gateway).status)
        except TransientSendError as error:
            outcomes.append(error.reason)

    assert outcomes == ["rate_limited", "rate_limited", "queued"]


def test_thirty_two_concurrent_senders_overlap_the_latency(gateway: TwilioGateway, twilio: StandIn) -> None:
    twilio.set_latency(50)
    gate = threading.Barrier(32)

    def one(i: int) -> str:
        gate.wait()
        return send(gateway, to=f"+4670000{i:04d}", key=f"k{i}").sid

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        sids = list(pool.map(one, range(32)))
    elapsed = time.monotonic() - started

    assert len(set(sids)) == 32
    assert elapsed < 32 * 0.05 / 2, f"32 sends with 50 ms latency took {elapsed:.2f}s: requests were serialized"
    assert twilio.max_concurrency >= 16


def test_a_delivery_receipt_arrives_signed_and_a_tampered_body_fails(
    gateway: TwilioGateway, twilio: StandIn, receiver: Receiver
) -> None:
    callback = f"{receiver.url}/webhooks/sms-status?attempt=42"
    sid = send(gateway, status_callback=callback).sid

    answer = twilio.deliver(sid, "undelivered", error_code=30003)

    assert answer is not None and answer.status == 200
    [hit] = receiver.hits
    assert hit["path"] == "/webhooks/sms-status?attempt=42"
    assert hit["form"] == {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": FROM.from_number,
        "To": PATIENT,
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    assert signed_ok(hit, callback)
    assert not signed_ok({**hit, "form": {**hit["form"], "MessageStatus": "delivered"}}, callback)
    assert not signed_ok(hit, callback.replace("42", "43"))
    assert gateway.fetch_message(sid).status == "undelivered"


def test_auto_deliver_posts_sent_then_delivered(gateway: TwilioGateway, twilio: StandIn, receiver: Receiver) -> None:
    twilio.set_auto_deliver(True)
    callback = f"{receiver.url}/status"

    sid = send(gateway, status_callback=callback).sid

    hits = receiver.posted(2)
    assert [h["form"]["MessageStatus"] for h in hits] == ["sent", "delivered"]
    assert all(h["form"]["MessageSid"] == sid and signed_ok(h, callback) for h in hits)


def test_call_progress_answer_and_key_press_arrive_signed(
    gateway: TwilioGateway, twilio: StandIn, receiver: Receiver
) -> None:
    receiver.reply = '<Response><Gather numDigits="1"/></Response>'
    status_url, twiml_url, action = (f"{receiver.url}/{p}" for p in ("call-status", "twiml", "gather?r=1"))
    sid = gateway.place_call(
        to=PATIENT, twiml_url=twiml_url, status_callback=status_url, idempotency_key="c1", sender=FROM
    ).sid

    twilio.call_status(sid, "ringing")
    answered = twilio.answer(sid)
    twilio.press_key(sid, "1", action)
    twilio.call_status(sid, "completed", duration=42)

    assert answered.body == receiver.reply
    paths = [h["path"] for h in receiver.hits]
    assert paths == ["/call-status", "/twiml", "/gather?r=1", "/call-status"]
    ringing, fetched, pressed, completed = receiver.hits
    assert ringing["form"]["CallStatus"] == "ringing" and ringing["form"]["SequenceNumber"] == "0"
    assert fetched["form"]["CallSid"] == sid and fetched["form"]["CallStatus"] == "in-progress"
    assert pressed["form"]["Digits"] == "1" and pressed["form"]["To"] == PATIENT
    assert completed["form"]["CallDuration"] == "42" and completed["form"]["SequenceNumber"] == "1"
    urls = [status_url, twiml_url, action, status_url]
    assert all(signed_ok(hit, url) for hit, url in zip(receiver.hits, urls, strict=True))


def test_answered_by_comes_as_twilios_machine_detection_reports_it_per_number(
    gateway: TwilioGateway, twilio: StandIn, receiver: Receiver
) -> None:
    machine, person = PATIENT, "+46701112233"
    twilio.set_answered_by(machine, "machine_end_beep")
    urls = {"url": f"{receiver.url}/twiml", "status_callback": f"{receiver.url}/status"}

    def call(to: str, detection: str | None) -> str:
        extra = {"machine_detection": detection} if detection else {}
        sid = gateway.client.calls.create(to=to, from_=FROM.from_number, method="POST", **urls, **extra).sid
        twilio.answer(sid)
        twilio.call_status(sid, "completed", duration=5)
        return str(sid)

    sids = [
        call(machine, "DetectMessageEnd"),
        call(machine, "Enable"),
        call(person, "DetectMessageEnd"),
        call(machine, None),
    ]
    answers = [(h["path"], h["form"].get("AnsweredBy")) for h in receiver.posted(8)]
    assert answers == [
        ("/twiml", "machine_end_beep"),
        ("/status", "machine_end_beep"),
        ("/twiml", "machine_start"),
        ("/status", "machine_start"),  # Enable answers at once
        ("/twiml", "human"),
        ("/status", "human"),
        ("/twiml", None),
        ("/status", None),
    ], "no detection asked, no AnsweredBy"
    assert [twilio.state.get(sid).json["answered_by"] for sid in sids] == [  # type: ignore[union-attr]
        "machine_end_beep",
        "machine_start",
        "human",
        None,
    ]
    with pytest.raises(ValueError):
        twilio.set_answered_by(machine, "robot")


def test_our_reminder_calls_ask_for_detection_that_waits_for_the_end_of_the_greeting(
    gateway: TwilioGateway, twilio: StandIn
) -> None:
    gateway.place_call(
        to=PATIENT,
        twiml_url="http://127.0.0.1:9/voice",
        status_callback="http://127.0.0.1:9/s",
        idempotency_key="amd",
        sender=FROM,
    )
    assert twilio.requests[-1].value("MachineDetection") == "DetectMessageEnd"


def test_an_inbound_sms_is_posted_signed_to_the_given_url(twilio: StandIn, receiver: Receiver) -> None:
    url = f"{receiver.url}/webhooks/inbound"

    twilio.inbound_sms(PATIENT, "+46850000000", "STOP", url)

    [hit] = receiver.hits
    assert hit["form"]["Body"] == "STOP" and hit["form"]["From"] == PATIENT
    assert hit["form"]["MessageSid"].startswith("SM") and hit["form"]["NumSegments"] == "1"
    assert signed_ok(hit, url)


def test_the_stand_in_refuses_to_post_webhooks_off_this_machine(twilio: StandIn) -> None:
    with pytest.raises(ValueError, match="loopback"):
        twilio.inbound_sms(PATIENT, "+46850000000", "hi", "https://example.com/hook")


def test_a_wrong_auth_token_is_twilios_401_with_code_20003(twilio: StandIn) -> None:
    url = f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    answer = requests.post(url, data={"To": PATIENT, "From": "+1", "Body": "x"}, auth=(ACCOUNT, "nope"), timeout=5)

    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    gw = TwilioGateway(ACCOUNT, "nope", base_url=twilio.base_url)
    try:
        with pytest.raises(PermanentSendError) as raised:
            send(gw)
    finally:
        gw.close()
    assert raised.value.code == 20003 and raised.value.status == 401


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": "+1", "Body": "x"}, 21604),
        ({"To": PATIENT, "From": "+1"}, 21602),
        ({"To": "0700000001", "From": "+1", "Body": "x"}, 21211),
    ],
)
def test_a_malformed_message_is_refused_with_twilios_validation_code(
    twilio: StandIn, form: dict[str, str], code: int
) -> None:
    url = f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    answer = requests.post(url, data=form, auth=(ACCOUNT, TOKEN), timeout=5)

    assert (answer.status_code, answer.json()["code"]) == (400, code)


def test_the_control_api_over_http_sets_faults_and_lists_requests(gateway: TwilioGateway, twilio: StandIn) -> None:
    control = f"{twilio.base_url}/_standin"
    assert requests.post(f"{control}/faults", json={"status": 400, "code": 21610}, timeout=5).ok
    assert requests.post(f"{control}/faults", json={"bogus": 1}, timeout=5).status_code == 400

    with pytest.raises(PermanentSendError, match="opted_out"):
        send(gateway)
    sid = send(gateway).sid

    logged = requests.get(f"{control}/requests", timeout=5).json()
    assert [r["status"] for r in logged] == [400, 201] and logged[1]["sid"] == sid
    assert requests.post(f"{control}/deliver", json={"message_sid": sid}, timeout=5).status_code == 502
    assert requests.post(f"{control}/reset", timeout=5).json() == {"reset": True}
    assert requests.get(f"{control}/requests", timeout=5).json() == []


def test_the_command_line_serves_the_stand_in_on_the_given_port() -> None:
    port = unused_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "integrations.twilio", "--port", str(port), "--auth-token", TOKEN],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, answer = time.monotonic() + 15, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/_standin/stats", timeout=1)
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None, "the stand-in did not start"
        assert json.loads(answer.text)["max_concurrency"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_second_account_is_served_with_its_own_token_and_its_webhooks_are_signed_with_it(receiver: Receiver) -> None:
    other, other_token = "AC" + "6" * 32, "second-account-secret"
    callback = f"{receiver.url}/status"
    with StandIn(auth_token=TOKEN, account_sid=ACCOUNT) as twilio:
        twilio.add_account(other, other_token)
        own, borrowed = (
            TwilioGateway(other, token, base_url=twilio.base_url, timeout=2.0) for token in (other_token, TOKEN)
        )
        try:
            sid = send(own, status_callback=callback).sid
            with pytest.raises(PermanentSendError) as refused:  # the first account's token opens only the first
                send(borrowed, status_callback=callback)
            assert refused.value.status == 401
            assert twilio.deliver(sid, "delivered") is not None
            inbound = twilio.inbound_sms(PATIENT, "+46850000000", "1", callback, account_sid=other)
            assert inbound.status == 200
        finally:
            own.close()
            borrowed.close()
    assert [m["account_sid"] for m in twilio.messages() if m["sid"] == sid] == [other]
    receipt, reply = receiver.posted(2)
    for hit in (receipt, reply):
        assert hit["form"]["AccountSid"] == other
        assert signatures.verify(other_token, callback, hit["form"], hit["headers"].get("X-Twilio-Signature"))
        assert not signed_ok(hit, callback)
