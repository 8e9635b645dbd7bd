"""Voicemail is not an answer: a reminder call that reaches a machine has not reached the patient.

Over real HTTP: the real Dispatcher places the call through the Twilio SDK at the local stand-in, which asks our
running app for the call's script and posts its status callbacks, with ``AnsweredBy`` set the way Twilio's
answering-machine detection sets it (configured per number through the stand-in's control API). By the step's
``on_machine`` the call hangs up and the fallback runs, or it leaves a short message that says nothing sensitive.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from recall.common.clock import FixedClock
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from tests.api.webhooking import ACCOUNT, TOKEN, serving, webhook_app  # noqa: F401 - the stand-in's account
from tests.factories import make_booking

UTC = UTC
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
CALL_AT = VISIT - timedelta(hours=2)
PHONE = "+46701000009"
# The stand-in and gateway (tests/conftest.py) serve ACCOUNT, whose TOKEN the webhook app checks signatures with.
GATEWAY_TIMEOUT = 5.0


@pytest.fixture
def live(database, clock) -> Iterator[str]:
    with serving(webhook_app(database, clock)) as base:
        yield base


def setup(database, clock, world, people, on_machine: str | None, language: str = "sv") -> int:
    step = {"offset_minutes": 120, "channel": "voice", "fallback": "sms"}
    with database.writer() as s:
        replace_policy(
            s, clock, people["manager"], {"steps": [step | ({"on_machine": on_machine} if on_machine else {})]}
        )
    return make_booking(database, clock, world.a, start_at=VISIT, patient={"phone": PHONE, "language": language}).id


def drain(database, live: str, gateway: TwilioGateway, at: datetime = CALL_AT) -> dict[str, int]:
    settings = DispatchSettings(worker_id="w1", callback_base=live, concurrency=2, default_from="+46700000000")
    return Dispatcher(database, FixedClock(at), gateway, gateway, settings).drain().outcomes


def rows(database, booking: int) -> list[tuple[Via, ReminderStatus, str | None]]:
    with database.reader() as s:
        return [
            (r.channel, r.status, r.outcome)
            for r in s.scalars(sa.select(Reminder).where(Reminder.booking_id == booking).order_by(Reminder.id))
        ]


def answer_machine(standin: StandIn, answered_by: str) -> ET.Element:
    """Configure the number over the control API, as a test in another process would, then pick up."""
    control = requests.post(
        f"{standin.base_url}/_standin/answered_by", json={"to": PHONE, "answered_by": answered_by}, timeout=5
    )
    assert control.status_code == 200, control.text
    [call] = standin.calls()
    return ET.fromstring(standin.answer(call["sid"]).body)


def test_every_reminder_call_asks_twilio_to_detect_an_answering_machine(
    database, clock, world, people, live, standin, gateway
):
    setup(database, clock, world, people, None)
    assert drain(database, live, gateway) == {"sent": 1}
    [create] = [r for r in standin.requests if r.resource == "Calls" and r.method == "POST"]
    assert create.value("MachineDetection") == "DetectMessageEnd"


def test_a_machine_is_not_a_reached_patient_the_call_hangs_up_and_the_steps_fallback_runs(
    database, clock, world, people, live, standin, gateway
):
    booking = setup(database, clock, world, people, "fallback")
    assert drain(database, live, gateway) == {"sent": 1}
    script = answer_machine(standin, "machine_end_beep")
    assert [e.tag for e in script] == ["Hangup"], "the machine hears nothing"
    [call] = standin.calls()
    assert standin.call_status(call["sid"], "completed", duration=20).status == 200
    assert rows(database, booking) == [
        (Via.VOICE, ReminderStatus.FAILED, "machine"),
        (Via.SMS, ReminderStatus.PLANNED, None),
    ]
    assert drain(database, live, gateway) == {"sent": 1}
    assert [m["to"] for m in standin.messages()] == [PHONE]


def test_the_default_is_the_fallback_as_before(database, clock, world, people, live, standin, gateway):
    booking = setup(database, clock, world, people, None)
    drain(database, live, gateway)
    assert [e.tag for e in answer_machine(standin, "machine_end_silence")] == ["Hangup"]
    standin.call_status(standin.calls()[0]["sid"], "completed")
    assert rows(database, booking)[0] == (Via.VOICE, ReminderStatus.FAILED, "machine")


@pytest.mark.parametrize(
    "language,text",
    [
        ("sv", "Hej, det här är ett meddelande från Nordvik Family Clinic. Ring oss gärna tillbaka. Tack."),
        ("pl", "Dzień dobry, to wiadomość z Nordvik Family Clinic. Prosimy o kontakt zwrotny. Dziękujemy."),
    ],
)
def test_by_the_policys_choice_a_short_safe_voicemail_is_left_and_no_fallback_runs(
    database, clock, world, people, live, standin, gateway, language, text
):
    booking = setup(database, clock, world, people, "voicemail", language=language)
    drain(database, live, gateway)
    script = answer_machine(standin, "machine_end_beep")
    assert [e.tag for e in script] == ["Say", "Hangup"]
    assert script[0].text == text and script[0].get("language") == {"sv": "sv-SE", "pl": "pl-PL"}[language]
    assert "13" not in script[0].text and "2026" not in script[0].text, "no date or time on a machine"
    assert standin.call_status(standin.calls()[0]["sid"], "completed", duration=15).status == 200
    assert rows(database, booking) == [(Via.VOICE, ReminderStatus.DELIVERED, "voicemail")]
    assert drain(database, live, gateway) == {}
    assert standin.messages() == []


@pytest.mark.parametrize("answered_by", ["fax", "machine_start"])
def test_a_fax_or_a_greeting_still_playing_takes_no_message_so_the_fallback_runs(
    database, clock, world, people, live, standin, gateway, answered_by
):
    booking = setup(database, clock, world, people, "voicemail")
    drain(database, live, gateway)
    assert [e.tag for e in answer_machine(standin, answered_by)] == ["Hangup"]
    standin.call_status(standin.calls()[0]["sid"], "completed")
    assert [(c, st) for c, st, _ in rows(database, booking)] == [
        (Via.VOICE, ReminderStatus.FAILED),
        (Via.SMS, ReminderStatus.PLANNED),
    ]


def test_a_person_who_answers_hears_the_reminder_and_the_call_is_answered(
    database, clock, world, people, live, standin, gateway
):
    booking = setup(database, clock, world, people, "voicemail")
    drain(database, live, gateway)
    script = answer_machine(standin, "human")
    assert [e.tag for e in script][0] == "Gather" and "Nordvik Family Clinic" in script[0][0].text
    standin.call_status(standin.calls()[0]["sid"], "completed", duration=40)
    assert rows(database, booking) == [(Via.VOICE, ReminderStatus.DELIVERED, "answered")]
