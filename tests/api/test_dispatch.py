"""Dispatching reminders through the real Twilio SDK to the local stand-in, with faults injected.

Every reminder ends sent, failed with a reason, cancelled or (the documented case) unknown, and the
stand-in never receives the same reminder twice.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.common.clock import FixedClock
from recall.reminders.planning import Channel as Via
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from tests.api.dispatching import SMS_TIME, VISIT, booked, dispatcher_for, policy_at, reminder_states

GATEWAY_TIMEOUT = 1.0  # the gateway (tests/conftest.py) gives up on a hung answer after a second


def test_due_sms_reminders_go_out_once_each_in_the_patients_language(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME - timedelta(hours=1))
    booked(database, clock, world, people, n=3, language="pl")
    dispatcher = dispatcher_for(database, clock, gateway)
    assert dispatcher.drain().total == 0, "nothing is due an hour early"
    clock.set(SMS_TIME)
    assert dispatcher.drain().outcomes == {"sent": 3}
    sent = standin.messages()
    assert len(sent) == 3 and len({m["to"] for m in sent}) == 3
    assert all("czwartek" in m["body"] for m in sent), "the date is rendered in Polish"
    callbacks = [r.value("StatusCallback") for r in standin.requests if r.path.endswith("Messages.json")]
    with database.reader() as s:
        ids = s.scalars(sa.select(Reminder.id).where(Reminder.channel == Via.SMS)).all()
    assert sorted(callbacks) == sorted(f"https://clinic.example.com/webhooks/twilio/message-status?r={i}" for i in ids)
    assert reminder_states(database) == [(ReminderStatus.SENT, None)] * 3
    assert dispatcher.drain().total == 0, "a second pass sends nothing again"


def test_a_reminder_of_a_booking_cancelled_before_its_time_is_never_sent(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    booking = booked(database, clock, world, people)[0]
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking)
    clock.set(SMS_TIME + timedelta(hours=1))
    dispatcher_for(database, clock, gateway).drain()
    assert standin.messages() == []


def test_a_reminder_claimed_then_cancelled_before_the_send_is_not_sent(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    booking = booked(database, clock, world, people)[0]
    dispatcher = dispatcher_for(database, clock, gateway)
    claimed = dispatcher.claim(10)
    assert len(claimed) == 1
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking)
    assert dispatcher.process(claimed[0]) == "not_ours"
    assert standin.messages() == []
    assert reminder_states(database)[0] == (ReminderStatus.CANCELLED, "cancelled")


@pytest.mark.parametrize(
    "fault,status,outcome",
    [
        ({"status": 400, "code": 21610}, ReminderStatus.FAILED, "opted_out"),
        ({"status": 400, "code": 21211}, ReminderStatus.FAILED, "invalid_phone"),
        ({"status": 400, "code": 21614}, ReminderStatus.FAILED, "invalid_phone"),
        ({"status": 429, "code": 20429}, ReminderStatus.PLANNED, "rate_limited"),
        ({"status": 500}, ReminderStatus.PLANNED, "provider_error"),
    ],
)
def test_each_failure_ends_the_reminder_or_schedules_a_bounded_retry(
    database, world, people, standin, gateway, fault, status, outcome
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    standin.add_fault(**fault, resource="Messages")
    dispatcher_for(database, clock, gateway).drain()
    assert reminder_states(database)[0] == (status, outcome)
    with database.reader() as s:
        patient = s.scalars(sa.select(Patient).where(Patient.phone_e164 == "+46701000000")).one()
        assert patient.consent_sms is (outcome != "opted_out")
        assert patient.phone_invalid is (outcome == "invalid_phone")


def test_a_transient_failure_is_retried_after_the_backoff_then_given_up(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    standin.add_fault(status=503, resource="Messages", times=None)
    dispatcher = dispatcher_for(database, clock, gateway, backoff_seconds=(30, 60))
    for wait in (30, 60):
        dispatcher.drain()
        assert reminder_states(database)[0] == (ReminderStatus.PLANNED, "provider_error")
        clock.advance(timedelta(seconds=wait))
    dispatcher.drain()
    assert reminder_states(database)[0] == (ReminderStatus.FAILED, "provider_error")
    assert len([r for r in standin.requests if r.path.endswith("Messages.json")]) == 3


def test_a_timeout_after_the_request_went_out_is_unknown_and_never_sent_again(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    standin.add_fault(timeout=True, accept=True, hang_ms=2500, resource="Messages")
    dispatcher = dispatcher_for(database, clock, gateway)
    assert dispatcher.drain().outcomes == {"unknown": 1}
    clock.advance(timedelta(hours=1))
    assert dispatcher.drain().total == 0
    assert reminder_states(database)[0] == (ReminderStatus.UNKNOWN, "read_timeout")
    assert len(standin.messages()) == 1, "Twilio took it once; we did not send it again"


def test_a_worker_that_died_mid_send_leaves_an_unknown_reminder_until_twilio_is_asked(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    dead = dispatcher_for(database, clock, gateway, worker_id="dead")
    assert len(dead.claim(10)) == 1  # ... and the process is killed before recording anything
    clock.advance(timedelta(minutes=3))  # the two-minute lease lapses
    alive = dispatcher_for(database, clock, gateway, worker_id="alive")
    assert alive.drain().total == 0
    assert reminder_states(database)[0] == (ReminderStatus.UNKNOWN, "worker_lost")
    assert standin.messages() == []


def test_a_voice_call_that_fails_for_good_falls_back_to_an_sms(database, world, people, standin, gateway):
    clock = FixedClock(VISIT - timedelta(hours=2))
    booked(database, clock, world, people)
    with database.writer() as s:  # the SMS step went out yesterday
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(status=ReminderStatus.SENT))
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.VOICE).values(fallback="sms"))
        s.commit()
    standin.add_fault(status=400, code=21217, resource="Calls")
    outcomes = dispatcher_for(database, clock, gateway).drain().outcomes
    assert outcomes == {"failed": 1, "sent": 1}
    assert reminder_states(database, Via.VOICE) == [(ReminderStatus.FAILED, "rejected")]
    assert [m["to"] for m in standin.messages()] == ["+46701000000"]


def test_the_clinics_sms_rate_is_never_exceeded(database, world, people, standin, gateway):
    from recall.reminders.policy import replace_policy

    clock = FixedClock(SMS_TIME - timedelta(days=1))
    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "rate_limits": {"sms_per_second": 20}},
        )
    booked(database, clock, world, people, n=30)
    clock.set(SMS_TIME)
    dispatcher_for(database, clock, gateway, concurrency=8).drain()
    times = sorted(r.at for r in standin.requests if r.path.endswith("Messages.json"))
    assert len(times) == 30
    # Slots are 50 ms apart and the sends themselves are held at least 50 ms apart: no second holds more than 20
    # (one more for the few hundred microseconds the stand-in's clock may see between two requests' arrivals),
    # and over the whole run the rate is 20/s within a few percent.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 21, busiest
    assert (len(times) - 1) / (times[-1] - times[0]) <= 20 * 1.05
    assert Counter(m["to"] for m in standin.messages()).most_common(1)[0][1] == 1


def test_without_a_rate_limit_the_sends_overlap_and_are_not_paced(database, world, people, standin, gateway):
    """50 ms at the stand-in, 8 senders, no limit: 24 reminders take a few round trips, where the default
    1/s would take 23 seconds."""
    from recall.reminders.policy import replace_policy

    clock = FixedClock(SMS_TIME - timedelta(days=1))
    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "rate_limits": {"sms_per_second": None}},
        )
    booked(database, clock, world, people, n=24)
    clock.set(SMS_TIME)
    standin.set_latency(50)
    result = dispatcher_for(database, clock, gateway, concurrency=8).drain()

    times = sorted(r.at for r in standin.requests if r.path.endswith("Messages.json"))
    assert result.outcomes == {"sent": 24} and len(times) == 24
    assert times[-1] - times[0] < 3.0, times[-1] - times[0]
    # sends finishing together are recorded together (on SQLite in one batch): each row says so
    assert reminder_states(database) == [(ReminderStatus.SENT, None)] * 24


def test_reminders_claimed_ahead_but_never_started_when_time_is_up_go_back_to_the_queue(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    policy_at(database, clock, people, 2)
    booked(database, clock, world, people, n=10)
    clock.set(SMS_TIME)

    result = dispatcher_for(database, clock, gateway, concurrency=2, prefetch=4).drain(max_seconds=0.3)

    statuses = Counter(status for status, _ in reminder_states(database))
    assert statuses[ReminderStatus.SENDING] == 0 and statuses[ReminderStatus.UNKNOWN] == 0
    assert statuses[ReminderStatus.SENT] == result.outcomes["sent"] >= 1
    assert statuses[ReminderStatus.PLANNED] == 10 - result.outcomes["sent"]
    with database.reader() as s:
        waiting = s.execute(
            sa.select(Reminder.attempts, Reminder.claimed_by).where(Reminder.status == ReminderStatus.PLANNED)
        ).all()
    assert set(waiting) == {(0, None)}  # as if never claimed
    assert len(standin.messages()) == result.outcomes["sent"]


def test_a_reminder_waiting_long_for_its_sending_slot_keeps_its_lease(database, world, people, standin, gateway):
    """At 1 SMS/s the fourth of four waits 3 s for its slot, longer than this worker's 2 s lease: without
    renewing it, another worker's reap would take it for a lost send and it would never go out."""
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    policy_at(database, clock, people, 1)
    booked(database, clock, world, people, n=4)
    clock.set(SMS_TIME)
    lease = timedelta(seconds=2)
    worker = dispatcher_for(database, clock, gateway, concurrency=4, lease=lease)
    with ThreadPoolExecutor(1) as pool:
        draining = pool.submit(worker.drain)
        time.sleep(2.5)  # the others went out at 0, 1 and 2 s; another worker reaps, its clock as far along
        reaped = dispatcher_for(database, FixedClock(SMS_TIME + timedelta(seconds=2.5)), gateway, worker_id="w2").reap()
        result = draining.result(timeout=30)

    assert reaped == 0
    assert result.outcomes == {"sent": 4}
    assert [status for status, _ in reminder_states(database)] == [ReminderStatus.SENT] * 4
