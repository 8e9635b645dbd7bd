"""Reminders announce themselves: ``reminder.sent`` when the sender records what the provider took (the hot
path's Core write, in its own transaction), ``reminder.delivered`` and ``reminder.failed`` from the provider's
status callbacks. Once each, with the channel and status and never the text or the phone number."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from recall.events import endpoints
from recall.events.tables import OutboxEvent
from recall.events.types import EventType
from recall.reminders import recording
from recall.reminders.reminders import ReminderStatus
from recall.reminders.sending import SendResult
from tests import twilio_callbacks
from tests.factories import make_booking
from tests.integration.inbound_scene import make_reminder, new_sid, run, world  # noqa: F401

pytestmark = pytest.mark.db


def _events(database, clinic_id) -> list[dict]:
    with database.reader() as s:
        return [
            json.loads(p)
            for p in s.scalars(
                sa.select(OutboxEvent.payload)
                .where(OutboxEvent.clinic_id == clinic_id, OutboxEvent.resource_type == "reminder")
                .order_by(OutboxEvent.id)
            )
        ]


@pytest.fixture
def listening(database, clock, world, people):
    with database.writer() as s:
        endpoints.create_endpoint(
            s, clock, people["manager"], {"url": "http://127.0.0.1:9/hooks", "event_types": list(EventType)}, None
        )
    return world


def test_a_recorded_send_announces_reminder_sent_once(database, clock, listening):
    booking = make_booking(database, clock, listening.a, days=3)
    reminder = make_reminder(database, clock, booking, status=ReminderStatus.SENDING)
    with database.connection(write=True) as conn:
        recording.record_sent(conn, [recording.sent(reminder.id, SendResult(new_sid(), "queued"), clock.now())])
        conn.commit()
    [sent] = _events(database, listening.a.clinic.id)
    assert sent["type"] == "reminder.sent"
    assert (
        sent["data"] | {"id": reminder.id, "booking_id": booking.id, "channel": "sms", "status": "sent"} == sent["data"]
    )
    assert listening.a.patients[0].phone_e164 not in json.dumps(sent)


def test_delivery_and_failure_callbacks_announce_delivered_and_failed_once(database, clock, listening):
    delivered = make_reminder(database, clock, make_booking(database, clock, listening.a, days=3), sid=new_sid())
    failed = make_reminder(database, clock, make_booking(database, clock, listening.a, days=4), sid=new_sid())
    for _ in range(2):  # the provider retries its callbacks: announced once
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=None,
            sid=delivered.provider_sid,
            status="delivered",
            error_code=None,
        )
        run(
            database,
            twilio_callbacks.message_status,
            clock,
            reminder_id=failed.id,
            sid=failed.provider_sid,
            status="undelivered",
            error_code=30003,
        )
    got = [(e["type"], e["data"]["id"]) for e in _events(database, listening.a.clinic.id)]
    assert got == [("reminder.delivered", delivered.id), ("reminder.failed", failed.id)]
    failure = _events(database, listening.a.clinic.id)[1]["data"]
    assert (failure["status"], failure["error_code"], failure["outcome"]) == ("failed", 30003, "unreachable")
