"""Dispatching reminders through the real Twilio SDK to the local stand-in, with faults injected.

Every reminder ends sent, failed with a reason, cancelled or (the documented case) unknown, and the
stand-in never receives the same reminder twice.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.common.clock import FixedClock
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from tests.factories import make_booking

UTC = UTC
GATEWAY_TIMEOUT = 1.0  # the gateway (tests/conftest.py) gives up on a hung answer after a second
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
SMS_TIME = VISIT - timedelta(hours=24)


def _dispatcher(database, clock, gateway, **kw) -> Dispatcher:
    settings = DispatchSettings(
        worker_id=kw.pop("worker_id", "w1"),
        callback_base="https://clinic.example.com",
        concurrency=kw.pop("concurrency", 4),
        default_from="+46700000000",
        **kw,
    )
    return Dispatcher(database, clock, gateway, gateway, settings)


def _booked(database, clock, world, people, n=1, **patient_kw):
    """``n`` new patients (phones +46701000000, +46701000001, ...), each booked at VISIT; their booking ids."""
    return [
        make_booking(
            database,
            clock,
            world.a,
            by=people["operator"],
            start_at=VISIT,
            patient={"phone": f"+4670{1000000 + i:07d}", **patient_kw},
        ).id
        for i in range(n)
    ]


def _statuses(database, channel=Via.SMS):
    with database.reader() as s:
        rows = s.scalars(sa.select(Reminder).where(Reminder.channel == channel).order_by(Reminder.id)).all()
        return [(r.status, r.outcome) for r in rows]


def test_due_sms_reminders_go_out_once_each_in_the_patients_language(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME - timedelta(hours=1))
    _booked(database, clock, world, people, n=3, language="pl")
    dispatcher = _dispatcher(database, clock, gateway)
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
    assert _statuses(database) == [(ReminderStatus.SENT, None)] * 3
    assert dispatcher.drain().total == 0, "a second pass sends nothing again"


def test_a_reminder_of_a_booking_cancelled_before_its_time_is_never_sent(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    booking = _booked(database, clock, world, people)[0]
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking)
    clock.set(SMS_TIME + timedelta(hours=1))
    _dispatcher(database, clock, gateway).drain()
    assert standin.messages() == []


def test_a_reminder_claimed_then_cancelled_before_the_send_is_not_sent(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    booking = _booked(database, clock, world, people)[0]
    dispatcher = _dispatcher(database, clock, gateway)
    claimed = dispatcher.claim(10)
    assert len(claimed) == 1
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking)
    assert dispatcher.process(claimed[0]) == "not_ours"
    assert standin.messages() == []
    assert _statuses(database)[0] == (ReminderStatus.CANCELLED, "cancelled")


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
    _booked(database, clock, world, people)
    standin.add_fault(**fault, resource="Messages")
    _dispatcher(database, clock, gateway).drain()
    assert _statuses(database)[0] == (status, outcome)
    with database.reader() as s:
        patient = s.scalars(sa.select(Patient).where(Patient.phone_e164 == "+46701000000")).one()
        assert patient.consent_sms is (outcome != "opted_out")
        assert patient.phone_invalid is (outcome == "invalid_phone")


def test_a_transient_failure_is_retried_after_the_backoff_then_given_up(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    standin.add_fault(status=503, resource="Messages", times=None)
    dispatcher = _dispatcher(database, clock, gateway, backoff_seconds=(30, 60))
    for wait in (30, 60):
        dispatcher.drain()
        assert _statuses(database)[0] == (ReminderStatus.PLANNED, "provider_error")
        clock.advance(timedelta(seconds=wait))
    dispatcher.drain()
    assert _statuses(database)[0] == (ReminderStatus.FAILED, "provider_error")
    assert len([r for r in standin.requests if r.path.endswith("Messages.json")]) == 3


def test_a_timeout_after_the_request_went_out_is_unknown_and_never_sent_again(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    standin.add_fault(timeout=True, accept=True, hang_ms=2500, resource="Messages")
    dispatcher = _dispatcher(database, clock, gateway)
    assert dispatcher.drain().outcomes == {"unknown": 1}
    clock.advance(timedelta(hours=1))
    assert dispatcher.drain().total == 0
    assert _statuses(database)[0] == (ReminderStatus.UNKNOWN, "read_timeout")
    assert len(standin.messages()) == 1, "Twilio took it once; we did not send it again"


def test_a_worker_that_died_mid_send_leaves_an_unknown_reminder_until_twilio_is_asked(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    dead = _dispatcher(database, clock, gateway, worker_id="dead")
    assert len(dead.claim(10)) == 1  # ... and the process is killed before recording anything
    clock.advance(timedelta(minutes=3))  # the two-minute lease lapses
    alive = _dispatcher(database, clock, gateway, worker_id="alive")
    assert alive.drain().total == 0
    assert _statuses(database)[0] == (ReminderStatus.UNKNOWN, "worker_lost")
    assert standin.messages() == []


def test_a_voice_call_that_fails_for_good_falls_back_to_an_sms(database, world, people, standin, gateway):
    clock = FixedClock(VISIT - timedelta(hours=2))
    _booked(database, clock, world, people)
    with database.writer() as s:  # the SMS step went out yesterday
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(status=ReminderStatus.SENT))
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.VOICE).values(fallback="sms"))
        s.commit()
    standin.add_fault(status=400, code=21217, resource="Calls")
    outcomes = _dispatcher(database, clock, gateway).drain().outcomes
    assert outcomes == {"failed": 1, "sent": 1}
    assert _statuses(database, Via.VOICE) == [(ReminderStatus.FAILED, "rejected")]
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
    _booked(database, clock, world, people, n=30)
    clock.set(SMS_TIME)
    _dispatcher(database, clock, gateway, concurrency=8).drain()
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
    _booked(database, clock, world, people, n=24)
    clock.set(SMS_TIME)
    standin.set_latency(50)
    result = _dispatcher(database, clock, gateway, concurrency=8).drain()

    times = sorted(r.at for r in standin.requests if r.path.endswith("Messages.json"))
    assert result.outcomes == {"sent": 24} and len(times) == 24
    assert times[-1] - times[0] < 3.0, times[-1] - times[0]
    # sends finishing together are recorded together (on SQLite in one batch): each row says so
    assert _statuses(database) == [(ReminderStatus.SENT, None)] * 24


def _policy_at(database, clock, people, rate):
    from recall.reminders.policy import replace_policy

    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "rate_limits": {"sms_per_second": rate}},
        )


def test_reminders_claimed_ahead_but_never_started_when_time_is_up_go_back_to_the_queue(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME - timedelta(days=1))
    _policy_at(database, clock, people, 2)
    _booked(database, clock, world, people, n=10)
    clock.set(SMS_TIME)

    result = _dispatcher(database, clock, gateway, concurrency=2, prefetch=4).drain(max_seconds=0.3)

    statuses = Counter(status for status, _ in _statuses(database))
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
    _policy_at(database, clock, people, 1)
    _booked(database, clock, world, people, n=4)
    clock.set(SMS_TIME)
    lease = timedelta(seconds=2)
    worker = _dispatcher(database, clock, gateway, concurrency=4, lease=lease)
    with ThreadPoolExecutor(1) as pool:
        draining = pool.submit(worker.drain)
        time.sleep(2.5)  # the others went out at 0, 1 and 2 s; another worker reaps, its clock as far along
        reaped = _dispatcher(database, FixedClock(SMS_TIME + timedelta(seconds=2.5)), gateway, worker_id="w2").reap()
        result = draining.result(timeout=30)

    assert reaped == 0
    assert result.outcomes == {"sent": 4}
    assert [status for status, _ in _statuses(database)] == [ReminderStatus.SENT] * 4


# --- what Twilio answers is recorded as it is -------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,error_code,outcome",
    [("failed", 30007, "carrier_filtered"), ("undelivered", 30003, "unreachable"), ("canceled", None, "canceled")],
)
def test_an_sms_answered_with_a_final_failure_ends_failed_and_its_fallback_runs(
    database, world, people, standin, gateway, status, error_code, outcome
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    with database.writer() as s:
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(fallback="voice"))
        s.commit()
    standin.add_fault(answer={"status": status, "error_code": error_code}, resource="Messages")

    outcomes = _dispatcher(database, clock, gateway).drain(max_seconds=5).outcomes

    assert outcomes == {"failed": 1, "sent": 1}, "the SMS failed; its fallback call went out"
    [message] = standin.messages()
    with database.reader() as s:
        failed = s.scalars(
            sa.select(Reminder).where(Reminder.channel == Via.SMS, Reminder.fallback_of_id.is_(None))
        ).one()
        backup = s.scalars(sa.select(Reminder).where(Reminder.fallback_of_id == failed.id)).all()
    assert (failed.status, failed.outcome, failed.provider_status, failed.error_code, failed.provider_sid) == (
        ReminderStatus.FAILED,
        outcome,
        status,
        error_code,
        message["sid"],
    )
    assert [(b.channel, b.status) for b in backup] == [(Via.VOICE, ReminderStatus.SENT)]
    assert len(standin.calls()) == 1
    # Twilio's own callback saying so later changes nothing, and plans no second fallback
    from tests.twilio_callbacks import message_status

    with database.writer() as s:
        assert (
            message_status(s, clock, reminder_id=failed.id, sid=message["sid"], status=status, error_code=error_code)
            == "unchanged"
        )
    with database.reader() as s:
        backups = s.scalar(sa.select(sa.func.count()).select_from(Reminder).where(Reminder.fallback_of_id == failed.id))
    assert backups == 1


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed"])
def test_a_call_answered_busy_or_unanswered_ends_failed_and_falls_back_to_an_sms(
    database, world, people, standin, gateway, status
):
    clock = FixedClock(VISIT - timedelta(hours=2))
    _booked(database, clock, world, people)
    with database.writer() as s:
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(status=ReminderStatus.SENT))
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.VOICE).values(fallback="sms"))
        s.commit()
    standin.add_fault(answer={"status": status}, resource="Calls")

    outcomes = _dispatcher(database, clock, gateway).drain(max_seconds=5).outcomes

    assert outcomes == {"failed": 1, "sent": 1}, "the call failed; its fallback SMS went out"
    assert _statuses(database, Via.VOICE) == [(ReminderStatus.FAILED, status)]
    assert len(standin.messages()) == 1


def test_a_null_sid_is_stored_as_null_and_a_callback_by_the_reminders_url_fills_it_in(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    standin.add_fault(answer={"sid": None}, resource="Messages")

    assert _dispatcher(database, clock, gateway).drain().outcomes == {"sent": 1}

    with database.reader() as s:
        reminder = s.scalars(sa.select(Reminder).where(Reminder.channel == Via.SMS)).one()
    assert (reminder.status, reminder.provider_sid, reminder.provider_status) == (ReminderStatus.SENT, None, "queued")
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reminder).where(Reminder.provider_sid == "None")) == 0
    # Twilio's delivery receipt names the message's real SID and, in its URL, the reminder: it fills the SID in
    from tests.twilio_callbacks import message_status

    [message] = standin.messages()
    with database.writer() as s:
        assert (
            message_status(s, clock, reminder_id=reminder.id, sid=message["sid"], status="delivered", error_code=None)
            == "updated"
        )
    with database.reader() as s:
        assert s.get(Reminder, reminder.id).provider_sid == message["sid"]


def test_a_sid_that_collides_loses_no_other_success_of_its_batch(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people, n=8)
    clash = "SM" + "c" * 32
    standin.add_fault(answer={"sid": clash}, resource="Messages", times=2)  # the first two answer the same SID

    outcomes = _dispatcher(database, clock, gateway, concurrency=8).drain().outcomes

    assert outcomes == {"sent": 8}
    with database.reader() as s:
        rows = s.execute(
            sa.select(Reminder.status, Reminder.provider_sid, Reminder.outcome).where(Reminder.channel == Via.SMS)
        ).all()
    assert Counter(row.status for row in rows) == {ReminderStatus.SENT: 8}, "Twilio took all eight"
    assert sorted((row.provider_sid == clash, row.outcome) for row in rows if row.provider_sid in (clash, None)) == [
        (False, "duplicate_sid"),
        (True, None),
    ]
    assert len({row.provider_sid for row in rows if row.provider_sid}) == 7


def test_a_reminder_sent_after_a_retry_keeps_no_error_code_of_the_failed_try(database, world, people, standin, gateway):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    standin.add_fault(status=429, code=20429, resource="Messages")
    dispatcher = _dispatcher(database, clock, gateway, backoff_seconds=(30,))
    assert dispatcher.drain().outcomes == {"retry": 1}
    clock.advance(timedelta(seconds=30))
    assert dispatcher.drain().outcomes == {"sent": 1}
    with database.reader() as s:
        reminder = s.scalars(sa.select(Reminder).where(Reminder.channel == Via.SMS)).one()
    assert (reminder.status, reminder.error_code, reminder.outcome) == (ReminderStatus.SENT, None, None)


def test_an_accepted_answer_whose_body_is_not_json_is_an_unknown_outcome_that_says_so(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    standin.add_fault(body="<html><body>Accepted</body></html>", resource="Messages")

    assert _dispatcher(database, clock, gateway).drain().outcomes == {"unknown": 1}
    assert _statuses(database) == [(ReminderStatus.UNKNOWN, "unreadable_answer")]


# --- lost sends: leases, reaping and recovery ---------------------------------------------------------------------


def test_a_worker_that_wakes_after_its_lease_lapsed_gives_the_reminder_up_instead_of_sending_it(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    sleeper = _dispatcher(database, clock, gateway, worker_id="sleeper")
    [claimed] = sleeper.claim(10)
    clock.advance(timedelta(minutes=2, seconds=1))  # it slept past its two-minute lease (a SIGSTOP, a stall)

    assert sleeper.process(claimed) == "given_up"
    assert standin.messages() == []
    with database.reader() as s:
        reminder = s.scalars(sa.select(Reminder).where(Reminder.channel == Via.SMS)).one()
    assert (reminder.status, reminder.claimed_by, reminder.attempts) == (ReminderStatus.PLANNED, None, 0)


def test_a_lost_send_twilio_never_got_is_sent_once_when_its_lease_has_lapsed_by_the_margin(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people)
    dead = _dispatcher(database, clock, gateway, worker_id="dead")
    assert len(dead.claim(10)) == 1  # ... and the process is killed before sending anything
    alive = _dispatcher(database, clock, gateway, worker_id="alive")
    clock.advance(timedelta(minutes=2, seconds=30))  # the lease lapsed, not yet by the margin
    assert alive.drain().total == 0
    assert _statuses(database) == [(ReminderStatus.UNKNOWN, "worker_lost")]
    assert [r for r in standin.requests if r.method == "GET"] == [], "not asked before the margin"

    clock.advance(timedelta(minutes=1))
    assert alive.drain().outcomes == {"sent": 1}
    lookups = [r for r in standin.requests if r.method == "GET"]
    assert len(lookups) == 1 and lookups[0].form["To"] == ["+46701000000"]
    with database.reader() as s:
        reminder = s.scalars(sa.select(Reminder).where(Reminder.channel == Via.SMS)).one()
    assert (reminder.status, reminder.recovery, reminder.provider_sid) == (
        ReminderStatus.SENT,
        "resent",
        standin.messages()[0]["sid"],
    )

    # lost again: it stays unknown; a recovery is made once
    with database.writer() as s:
        s.execute(sa.update(Reminder).values(status=ReminderStatus.UNKNOWN, outcome="worker_lost"))
        s.commit()
    clock.advance(timedelta(minutes=5))
    assert alive.drain().total == 0
    assert len(standin.messages()) == 1


def test_a_lost_send_twilio_took_is_recorded_sent_with_twilios_sid_and_not_sent_again(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    _booked(database, clock, world, people, n=2)  # the other patient's message must not be taken for this one
    dead = _dispatcher(database, clock, gateway, worker_id="dead")
    claimed = dead.claim(10)
    with database.connection(write=False) as conn:  # the dead worker's request went out; its answer was lost
        from recall.reminders import outgoing

        out = outgoing.load(conn, claimed[0].id)
        request = dead._build(conn, out, claimed[0])
    gateway.send_sms(
        to=request.to,
        body=request.body,
        status_callback=request.status_callback,
        idempotency_key=request.idempotency_key,
        sender=request.sender,
    )
    clock.advance(timedelta(minutes=4))

    outcomes = _dispatcher(database, clock, gateway, worker_id="alive").drain().outcomes

    assert outcomes == {"sent": 1}, "the other reminder, never sent, went out now"
    by_to = {m["to"]: m["sid"] for m in standin.messages()}
    assert len(standin.messages()) == 2
    with database.reader() as s:
        took = s.get(Reminder, claimed[0].id)
        other = s.get(Reminder, claimed[1].id)
    assert (took.status, took.recovery, took.provider_sid) == (ReminderStatus.SENT, "found", by_to[request.to])
    assert (other.status, other.recovery) == (ReminderStatus.SENT, "resent")
