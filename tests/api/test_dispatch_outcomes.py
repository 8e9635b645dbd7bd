"""Dispatching reminders, continued: what Twilio answers is recorded as it is, and sends lost to a dead or
stalled worker are given up, sent once or recorded sent, never sent twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.common.clock import FixedClock
from recall.reminders.planning import Channel as Via
from recall.reminders.reminders import Reminder, ReminderStatus
from tests.api.dispatching import SMS_TIME, VISIT, booked, dispatcher_for, reminder_states

GATEWAY_TIMEOUT = 1.0  # the gateway (tests/conftest.py) gives up on a hung answer after a second


# --- what Twilio answers is recorded as it is -------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,error_code,outcome",
    [("failed", 30007, "carrier_filtered"), ("undelivered", 30003, "unreachable"), ("canceled", None, "canceled")],
)
def test_an_sms_answered_with_a_final_failure_ends_failed_and_its_fallback_runs(
    database, world, people, standin, gateway, status, error_code, outcome
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    with database.writer() as s:
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(fallback="voice"))
        s.commit()
    standin.add_fault(answer={"status": status, "error_code": error_code}, resource="Messages")

    outcomes = dispatcher_for(database, clock, gateway).drain(max_seconds=5).outcomes

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
    booked(database, clock, world, people)
    with database.writer() as s:
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.SMS).values(status=ReminderStatus.SENT))
        s.execute(sa.update(Reminder).where(Reminder.channel == Via.VOICE).values(fallback="sms"))
        s.commit()
    standin.add_fault(answer={"status": status}, resource="Calls")

    outcomes = dispatcher_for(database, clock, gateway).drain(max_seconds=5).outcomes

    assert outcomes == {"failed": 1, "sent": 1}, "the call failed; its fallback SMS went out"
    assert reminder_states(database, Via.VOICE) == [(ReminderStatus.FAILED, status)]
    assert len(standin.messages()) == 1


def test_a_null_sid_is_stored_as_null_and_a_callback_by_the_reminders_url_fills_it_in(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    standin.add_fault(answer={"sid": None}, resource="Messages")

    assert dispatcher_for(database, clock, gateway).drain().outcomes == {"sent": 1}

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
    booked(database, clock, world, people, n=8)
    clash = "SM" + "c" * 32
    standin.add_fault(answer={"sid": clash}, resource="Messages", times=2)  # the first two answer the same SID

    outcomes = dispatcher_for(database, clock, gateway, concurrency=8).drain().outcomes

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
    booked(database, clock, world, people)
    standin.add_fault(status=429, code=20429, resource="Messages")
    dispatcher = dispatcher_for(database, clock, gateway, backoff_seconds=(30,))
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
    booked(database, clock, world, people)
    standin.add_fault(body="<html><body>Accepted</body></html>", resource="Messages")

    assert dispatcher_for(database, clock, gateway).drain().outcomes == {"unknown": 1}
    assert reminder_states(database) == [(ReminderStatus.UNKNOWN, "unreadable_answer")]


# --- lost sends: leases, reaping and recovery ---------------------------------------------------------------------


def test_a_worker_that_wakes_after_its_lease_lapsed_gives_the_reminder_up_instead_of_sending_it(
    database, world, people, standin, gateway
):
    clock = FixedClock(SMS_TIME)
    booked(database, clock, world, people)
    sleeper = dispatcher_for(database, clock, gateway, worker_id="sleeper")
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
    booked(database, clock, world, people)
    dead = dispatcher_for(database, clock, gateway, worker_id="dead")
    assert len(dead.claim(10)) == 1  # ... and the process is killed before sending anything
    alive = dispatcher_for(database, clock, gateway, worker_id="alive")
    clock.advance(timedelta(minutes=2, seconds=30))  # the lease lapsed, not yet by the margin
    assert alive.drain().total == 0
    assert reminder_states(database) == [(ReminderStatus.UNKNOWN, "worker_lost")]
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
    booked(database, clock, world, people, n=2)  # the other patient's message must not be taken for this one
    dead = dispatcher_for(database, clock, gateway, worker_id="dead")
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

    outcomes = dispatcher_for(database, clock, gateway, worker_id="alive").drain().outcomes

    assert outcomes == {"sent": 1}, "the other reminder, never sent, went out now"
    by_to = {m["to"]: m["sid"] for m in standin.messages()}
    assert len(standin.messages()) == 2
    with database.reader() as s:
        took = s.get(Reminder, claimed[0].id)
        other = s.get(Reminder, claimed[1].id)
    assert (took.status, took.recovery, took.provider_sid) == (ReminderStatus.SENT, "found", by_to[request.to])
    assert (other.status, other.recovery) == (ReminderStatus.SENT, "resent")
