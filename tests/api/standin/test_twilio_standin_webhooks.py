"""The Twilio stand-in's side of the webhooks and its control surface, over real HTTP: receipts, call progress
and inbound SMS arrive signed over the exact URL, only on this machine; a wrong token is Twilio's 401; the
control API and the command line serve what the tests drive; a second account signs with its own token.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from integrations.twilio import signatures
from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from recall.reminders.sending import (
    PermanentSendError,
)
from tests.api.standin.helpers import ACCOUNT, FROM, PATIENT, REPO, TOKEN, Receiver, send, signed_ok, unused_port


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
