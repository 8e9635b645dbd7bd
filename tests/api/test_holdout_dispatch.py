"""Held-out bookings never get an automated send, through the real Twilio SDK and the local stand-in; the manager
switches the holdout on through PATCH /clinic."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.clock import FixedClock
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking
from tests.api.dispatching import SMS_TIME, VISIT, booked, dispatcher_for
from tests.factories import api_as

# The default steps (an SMS a day ahead, a call 2 h ahead) without the default pace of one a second.
FAST_POLICY = {
    "steps": [{"offset_minutes": 24 * 60, "channel": "sms"}, {"offset_minutes": 120, "channel": "voice"}],
    "rate_limits": {"sms_per_second": 100, "calls_per_second": 100},
}
SALT = "fedcba9876543210fedcba9876543210"


def holdout_on(database, world, percent=50):
    with database.writer() as s:
        clinic = s.get(Clinic, world.a.clinic.id)
        assert clinic is not None
        clinic.reminder_holdout_percent, clinic.reminder_holdout_salt = percent, SALT
        s.commit()


def phones_by_side(database, ids):
    with database.reader() as s:
        rows = s.execute(sa.select(Booking.id, Booking.holdout, Booking.patient_id).where(Booking.id.in_(ids))).all()
        phones = dict(s.execute(sa.select(Patient.id, Patient.phone_e164)).all())
    held = {phones[p] for _, h, p in rows if h}
    reminded = {phones[p] for _, h, p in rows if not h}
    return held, reminded


def test_held_out_bookings_get_no_sms_or_call_while_the_others_get_both(database, world, people, standin, gateway):
    holdout_on(database, world)
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], FAST_POLICY)
    ids = booked(database, clock, world, people, n=10)
    held, reminded = phones_by_side(database, ids)
    assert held and reminded
    dispatcher = dispatcher_for(database, clock, gateway)
    for at in (SMS_TIME, VISIT - timedelta(hours=2)):
        clock.set(at)
        dispatcher.drain()
    assert {m["to"] for m in standin.messages()} == reminded
    called = {r.value("To") for r in standin.requests if r.path.endswith("Calls.json")}
    assert called == reminded


def test_the_dispatcher_refuses_an_automated_send_of_a_held_out_booking_that_got_planned(
    database, world, people, standin, gateway
):
    """A reminder planned some other way (a human call's fallback, a surge's automated call, a row written
    before the booking was held out) is refused at the moment of sending."""
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    ids = booked(database, clock, world, people, n=2)
    with database.writer() as s:
        s.execute(sa.update(Booking).where(Booking.id == ids[0]).values(holdout=True))
        s.commit()
    clock.set(SMS_TIME)
    assert dispatcher_for(database, clock, gateway).drain().outcomes == {"cancelled": 1, "sent": 1}
    assert len(standin.messages()) == 1
    with database.reader() as s:
        refused = s.scalars(sa.select(Reminder).where(Reminder.booking_id == ids[0], Reminder.channel == Via.SMS)).one()
        assert (refused.status, refused.outcome) == (ReminderStatus.CANCELLED, "held_out")


def test_the_manager_switches_the_holdout_on_and_its_bounds_are_checked(client, world):
    api = api_as(client, world.a, "manager")
    assert api.get("/clinic").get_json()["reminder_holdout_percent"] == 0
    answer = api.patch("/clinic", json={"reminder_holdout_percent": 5, "holdout_human_calls": True})
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["reminder_holdout_percent"], answer.get_json()["holdout_human_calls"]) == (5, True)
    for bad in (51, -1, "5", 2.5, True):
        answer = api.patch("/clinic", json={"reminder_holdout_percent": bad})
        assert answer.status_code == 422 and "reminder_holdout_percent" in str(answer.get_json()), bad
    assert api.patch("/clinic", json={"holdout_human_calls": "yes"}).status_code == 422
    assert api_as(client, world.a, "operator").patch("/clinic", json={"reminder_holdout_percent": 5}).status_code == 403
