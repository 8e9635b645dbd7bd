"""The Twilio stand-in over real HTTP, driven through the real SDK by TwilioGateway.

These prove two things at once: the stand-in behaves like Twilio where we rely
on it (SIDs, error JSON, auth, callbacks signed over the exact URL), and the
gateway turns every way a send can fail into the right SendError.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from recall.reminders.sending import (
    PermanentSendError,
    SenderIdentity,
    SendError,
    TransientSendError,
    UnknownOutcomeError,
)
from tests.api.standin.helpers import ACCOUNT, FROM, PATIENT, TOKEN, send, unused_port


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
