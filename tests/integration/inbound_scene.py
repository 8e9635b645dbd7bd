"""The scene the tests of what comes back after a reminder share: clinic a sending from its own number (the
``world`` fixture), reminder rows as the sender leaves them (``make_reminder``), Twilio-shaped SIDs, an inbound
SMS, and reads of what a callback changed. Used by test_inbound.py, test_inbound_voice.py, test_inbound_replies.py,
test_service_calls.py and the webhook tests under tests/api.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from recall.common.clock import Clock
from recall.common.db import Database
from recall.credit.ledger import CreditKind, entries_for_booking
from recall.queue.tasks import RecallTask
from recall.reminders import inbound
from recall.reminders.planning import DEFAULT_POLICY, Channel, Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.bookings import Booking, BookingStatus
from tests.factories import ClinicWorld, World, actor_of

SV_PHONE = "+46701234567"  # clinic a's first patient (and, as it happens, clinic b's)
OFFSET = 45
CLINIC_NUMBER = "+46850000000"  # clinic a's own sender number, where its patients' replies arrive
DEFAULT_FROM = "+46700000000"  # the service-wide default number (TWILIO_DEFAULT_FROM)


def send_from(database: Database, clock: Clock, cw: ClinicWorld, **sender: str) -> None:
    """The clinic's reminder policy (the default one otherwise) names this sender: a number, a Messaging Service."""
    doc = DEFAULT_POLICY.to_json()
    run(database, replace_policy, clock, actor_of(cw.staff["manager"]), {"steps": doc["steps"], "sender": sender})


@pytest.fixture
def world(world: World, database: Database, clock: Clock) -> World:
    """The two clinics; clinic a sends from its own number (CLINIC_NUMBER), b from the service's default."""
    send_from(database, clock, world.a, from_number=CLINIC_NUMBER)
    return world


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID."""
    return prefix + secrets.token_hex(16)


def make_reminder(
    database: Database,
    clock: Clock,
    booking: Booking,
    *,
    channel: Channel = Channel.SMS,
    status: ReminderStatus = ReminderStatus.SENT,
    sid: str | None = None,
    fallback: Fallback = Fallback.NONE,
    sent_at: datetime | None = None,
) -> Reminder:
    """A reminder row as the sender leaves it: sent with a SID (or ``unknown`` without one).

    Its step runs ``OFFSET`` minutes before the visit, which no default step does, so ``reminders_of`` tells
    it (and its fallback) apart from the booking's planned reminders."""
    now = clock.now()
    with database.writer() as s:
        reminder = Reminder(
            clinic_id=booking.clinic_id,
            booking_id=booking.id,
            patient_id=booking.patient_id,
            policy_version=0,
            step_index=0,
            offset_minutes=OFFSET,
            channel=channel,
            fallback=fallback,
            status=status,
            send_at=now,
            due_at=now,
            attempts=1,
            provider_sid=sid,
            provider_status="queued" if sid else None,
            sent_at=sent_at or (now if sid else None),
            created_at=now,
            updated_at=now,
        )
        s.add(reminder)
        s.commit()
        return reminder


def run(database: Database, fn: Any, *args: Any, **kw: Any) -> Any:
    with database.writer() as s:
        return fn(s, *args, **kw)


def reminders_of(database: Database, booking_id: int, *, planned_too: bool = False) -> list[Reminder]:
    """The booking's reminders made by ``make_reminder`` and their fallbacks (``planned_too``: all of them)."""
    stmt = sa.select(Reminder).where(Reminder.booking_id == booking_id).order_by(Reminder.id)
    with database.reader() as s:
        return list(s.scalars(stmt if planned_too else stmt.where(Reminder.offset_minutes == OFFSET)))


def tasks_of(database: Database, patient_id: int) -> list[RecallTask]:
    with database.reader() as s:
        return list(s.scalars(sa.select(RecallTask).where(RecallTask.patient_id == patient_id).order_by(RecallTask.id)))


def status_of(database: Database, booking_id: int) -> BookingStatus:
    with database.reader() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None
        return booking.status


def credit_kinds(database: Database, booking_id: int) -> list[CreditKind]:
    with database.reader() as s:
        return [e.kind for e in entries_for_booking(s, booking_id)]


def sms(
    database: Database,
    clock: Clock,
    body: str,
    phone: str = SV_PHONE,
    sid: str | None = None,
    to: str = CLINIC_NUMBER,
    **kw: Any,
) -> str | None:
    return run(
        database,
        inbound.inbound_sms,
        clock,
        message_sid=sid or new_sid(),
        from_number=phone,
        to_number=to,
        body=body,
        **{"default_from": DEFAULT_FROM, **kw},
    )
