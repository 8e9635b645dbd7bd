"""Twilio's webhooks over real HTTP: the app on a socket, and the Twilio stand-in, driven through the real SDK by
TwilioGateway, posting what Twilio would. They prove that the URL we check is the one Twilio signed, also
behind a proxy with ``PUBLIC_BASE_URL``.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from integrations.twilio.standin import StandIn
from integrations.twilio.standin_webhooks import post_webhook
from recall.credit.ledger import CreditKind
from recall.reminders.planning import Channel, Fallback
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.reminders.sending import SenderIdentity
from recall.visits.bookings import Booking, BookingStatus
from tests.api.checks import nothing_written
from tests.api.webhooking import ACCOUNT, CLINIC_NUMBER, HOOKS, TOKEN, serving, webhook_app
from tests.factories import make_booking
from tests.integration.inbound_scene import (  # noqa: F401 - world: clinic a sends from CLINIC_NUMBER
    DEFAULT_FROM,
    OFFSET,
    SV_PHONE,
    credit_kinds,
    make_reminder,
    new_sid,
    reminders_of,
    send_from,
    status_of,
    tasks_of,
    world,
)

# How long the shared gateway fixture (tests/conftest.py) waits for an answer; it reads ACCOUNT and TOKEN here too.
GATEWAY_TIMEOUT = 5.0


# --- over real HTTP, with the Twilio stand-in -----------------------------------------------------------------------


@contextmanager
def proxy(target: str) -> Iterator[str]:
    """A reverse proxy: the app sees its own Host, not the one Twilio requested and signed."""
    upstream = requests.Session()
    upstream.trust_env = False

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = upstream.post(target + self.path, data=body, headers=headers, timeout=10)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()


@pytest.fixture
def live(database, clock) -> Iterator[tuple[Flask, str]]:
    app = webhook_app(database, clock)
    with serving(app) as base:
        yield app, base


def sent_by_standin(database: Any, reminder: Reminder, sid: str) -> None:
    """What the sender records once Twilio accepted the request."""
    with database.writer() as s:
        s.execute(
            sa.update(Reminder).where(Reminder.id == reminder.id).values(provider_sid=sid, status=ReminderStatus.SENT)
        )
        s.commit()


def test_the_standins_signed_receipts_resolve_an_unknown_send_and_run_the_fallback(
    live, standin, gateway, database, clock, world
):
    _app, base = live
    booking = make_booking(database, clock, world.a, days=3)
    unknown = make_reminder(database, clock, booking, status=ReminderStatus.UNKNOWN, fallback=Fallback.VOICE)
    message = gateway.send_sms(
        to=SV_PHONE,
        body="Reminder",
        idempotency_key="k1",
        status_callback=f"{base}{HOOKS}/message-status?r={unknown.id}",
        sender=SenderIdentity(from_number=CLINIC_NUMBER),
    )
    assert standin.deliver(message.sid, "sent").status == 200
    assert standin.deliver(message.sid, "undelivered", error_code=30003).status == 200
    failed, fallback = reminders_of(database, booking.id)
    assert (failed.provider_sid, failed.status, failed.outcome) == (message.sid, ReminderStatus.FAILED, "unreachable")
    assert (fallback.channel, fallback.fallback_of_id) == (Channel.VOICE, failed.id)


def test_a_call_through_the_standin_answers_confirms_by_key_and_completes(
    live, standin, gateway, database, clock, world
):
    _app, base = live
    reminder = make_reminder(
        database,
        clock,
        make_booking(database, clock, world.a, days=3),
        channel=Channel.VOICE,
        status=ReminderStatus.SENDING,
    )
    call = gateway.place_call(
        to=SV_PHONE,
        twiml_url=f"{base}{HOOKS}/voice?r={reminder.id}",
        status_callback=f"{base}{HOOKS}/call-status?r={reminder.id}",
        idempotency_key="k2",
        sender=SenderIdentity(from_number=CLINIC_NUMBER),
    )
    sent_by_standin(database, reminder, call.sid)
    gather, redirect = ET.fromstring(standin.answer(call.sid).body)
    silence = ET.fromstring(
        post_webhook(redirect.text, [("CallSid", call.sid), ("AccountSid", ACCOUNT)], auth_token=TOKEN).body
    )
    assert [e.tag for e in silence] == ["Gather", "Hangup"]
    ack = ET.fromstring(standin.press_key(call.sid, "1", gather.get("action")).body)
    assert ack[0].text == "Tack, din tid är bekräftad. Hej då."
    assert standin.call_status(call.sid, "completed", duration=42).status == 200
    assert status_of(database, reminder.booking_id) is BookingStatus.CONFIRMED
    with database.reader() as s:
        assert s.get(Reminder, reminder.id).outcome == "answered"


def test_an_sms_reply_through_the_standin_cancels_and_a_forged_one_is_refused(live, standin, database, clock, world):
    _app, base = live
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    with StandIn(auth_token="someone-else", account_sid=ACCOUNT) as impostor, nothing_written(database):
        assert impostor.inbound_sms(SV_PHONE, CLINIC_NUMBER, "2", f"{base}{HOOKS}/inbound-sms").status == 403
    answer = standin.inbound_sms(SV_PHONE, CLINIC_NUMBER, "2", f"{base}{HOOKS}/inbound-sms")
    assert ET.fromstring(answer.body)[0].text == "Tack, din tid är avbokad."
    assert credit_kinds(database, booking.id) == [CreditKind.PENDING, CreditKind.VOID]
    with database.reader() as s:
        assert s.get(Booking, booking.id).cancel_reason == "patient cancelled by SMS"


def test_behind_a_proxy_the_public_base_url_is_what_twilio_signed(live, standin, database, clock, world):
    app, base = live
    booking = make_booking(database, clock, world.a, days=3)
    make_reminder(database, clock, booking, sid=new_sid())
    with proxy(base) as public:
        url = f"{public}{HOOKS}/inbound-sms"
        for configured, expected in (("", 403), ("https://clinic.example.com", 403), (public + "/", 200)):
            app.config["PUBLIC_BASE_URL"] = configured
            assert standin.inbound_sms(SV_PHONE, CLINIC_NUMBER, "1", url).status == expected, configured
    assert status_of(database, booking.id) is BookingStatus.CONFIRMED
