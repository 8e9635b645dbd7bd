"""Calling hours are kept at the moment of sending, whatever put a reminder in the queue.

The planner places every step inside the patient's hours, but a worker that was down sends late, a retry comes
after its backoff and a fallback is due at once. Driven here through the real Dispatcher and the real Twilio SDK
against the local stand-in, with a fixed clock: outside the hours nothing reaches Twilio; the reminder waits for
the next opening of the patient's wall clock (DST-correct) while that is still in time for the visit, else it is
skipped, and staff read why in GET /reminders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from integrations.twilio.standin import StandIn
from recall.common.clock import FixedClock
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from tests import twilio_callbacks
from tests.factories import api_as, make_booking

UTC = UTC


def worker(database, clock, gateway, **kw) -> Dispatcher:
    settings = DispatchSettings(
        worker_id="w1", callback_base="https://clinic.example.com", concurrency=4, default_from="+46700000000", **kw
    )
    return Dispatcher(database, clock, gateway, gateway, settings)


def reminder(database, booking_id: int, channel: Via) -> Reminder:
    with database.reader() as s:
        return s.scalars(
            sa.select(Reminder)
            .where(Reminder.booking_id == booking_id, Reminder.channel == channel)
            .order_by(Reminder.id.desc())
        ).first()


def sends(standin: StandIn) -> int:
    """Create requests that reached the stand-in (answered or not)."""
    return sum(1 for r in standin.requests if r.method == "POST")


def test_a_worker_started_after_ten_hours_down_at_night_sends_nothing_until_the_hours_open(
    client, database, clock, world, people, standin, gateway
):
    # Stockholm, default policy (SMS 24 h before, voice 2 h before; weekdays 09:00-20:00). Booked on Monday.
    evening = make_booking(
        database,
        clock,
        world.a,
        start_at=datetime(2026, 3, 5, 18, 30, tzinfo=UTC),
        patient={"phone": "+46701000001", "timezone": "Europe/Stockholm"},
    ).id
    # Thursday 19:30: its SMS is due on Wednesday at 19:30.
    morning = make_booking(
        database,
        clock,
        world.a,
        start_at=datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
        patient={"phone": "+46701000002", "timezone": "Europe/Stockholm"},
    ).id
    # Thursday 10:30: its call (08:30) was moved to Wednesday 19:59, the last minute of the hours before it.
    dawn = make_booking(
        database,
        clock,
        world.a,
        start_at=datetime(2026, 3, 5, 8, 3, tzinfo=UTC),
        patient={"phone": "+46701000003", "timezone": "Europe/Stockholm"},
    ).id
    # Thursday 09:03: its call (07:03) was moved to Wednesday 19:59 as well.
    assert reminder(database, morning, Via.VOICE).due_at == datetime(2026, 3, 4, 18, 59, tzinfo=UTC)

    clock.set(datetime(2026, 3, 4, 18, 0, tzinfo=UTC))  # Wednesday 19:00: the worker sends what is due, then dies
    assert worker(database, clock, gateway).drain().outcomes == {"sent": 2}  # the morning and dawn SMS
    assert sends(standin) == 2

    clock.set(datetime(2026, 3, 5, 4, 0, tzinfo=UTC))  # Thursday 05:00, ten hours later: a worker starts
    result = worker(database, clock, gateway).drain()
    assert sends(standin) == 2, "nothing goes out at 05:00"
    assert result.outcomes == {"deferred": 2, "skipped": 1}
    opening = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm
    for booking, channel in ((evening, Via.SMS), (morning, Via.VOICE)):
        row = reminder(database, booking, channel)
        assert (row.status, row.due_at, row.moved_reason, row.attempts) == (
            ReminderStatus.PLANNED,
            opening,
            "outside_calling_hours",
            0,
        )
    # 09:00 would leave 3 minutes before a 09:03 visit: no reminder makes sense that late, so it is skipped.
    assert (reminder(database, dawn, Via.VOICE).status, reminder(database, dawn, Via.VOICE).outcome) == (
        ReminderStatus.SKIPPED,
        "outside_calling_hours",
    )

    for local in ("06:00", "08:59"):
        clock.set(datetime.fromisoformat(f"2026-03-05T{local}+01:00"))
        assert worker(database, clock, gateway).drain().total == 0
    assert sends(standin) == 2

    clock.set(opening)
    assert worker(database, clock, gateway).drain().outcomes == {"sent": 2}
    assert sorted(m["to"] for m in standin.messages()) == ["+46701000001", "+46701000002", "+46701000003"]
    assert standin.messages()[0]["to"] == "+46701000001", "the evening visit's SMS went out last, at 09:00"
    assert [c["to"] for c in standin.calls()] == ["+46701000002"]

    seen = api_as(client, world.a, "frontdesk").get("/reminders", query_string={"page_size": 50}).json["items"]
    why = {(r["booking_id"], r["channel"]): (r["status"], r["moved_reason"], r["outcome"]) for r in seen}
    assert why[(evening, "sms")] == ("sent", "outside_calling_hours", None)
    assert why[(morning, "voice")] == ("sent", "outside_calling_hours", None)
    assert why[(dawn, "voice")] == ("skipped", None, "outside_calling_hours")


# Each zone on its own DST dates. A call at 15:59 on Saturday (weekend hours 10:00-16:00) meets a Twilio 503; its
# retry, two minutes later, is after the hours: it waits for Sunday 10:00 on the patient's wall clock, an hour
# nearer or further in UTC than Saturday's offset would say.
DST = [
    ("Europe/Stockholm", "2026-03-28T15:59:00+01:00", "2026-03-29T08:00:00+00:00"),  # spring forward on Sunday
    ("Europe/Stockholm", "2026-10-24T15:59:00+02:00", "2026-10-25T09:00:00+00:00"),  # fall back on Sunday
    ("America/New_York", "2026-03-07T15:59:00-05:00", "2026-03-08T14:00:00+00:00"),
    ("America/New_York", "2026-10-31T15:59:00-04:00", "2026-11-01T15:00:00+00:00"),
]


@pytest.mark.parametrize("zone,call_at,opening", DST)
def test_a_retry_that_falls_outside_the_hours_waits_for_them_to_open_across_a_dst_change(
    database, world, people, standin, gateway, zone, call_at, opening
):
    call_at, opening = datetime.fromisoformat(call_at), datetime.fromisoformat(opening)
    visit = opening + timedelta(days=1, hours=2)  # Monday noon-ish: the retry still makes sense on Sunday
    clock = FixedClock(call_at - timedelta(days=3))
    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {"steps": [{"offset_minutes": int((visit - call_at).total_seconds() // 60), "channel": "voice"}]},
        )
    booking = make_booking(
        database, clock, world.a, start_at=visit, patient={"phone": "+12125550100", "timezone": zone}
    ).id
    assert reminder(database, booking, Via.VOICE).due_at == call_at, "planned inside Saturday's hours"

    clock.set(call_at)
    standin.add_fault(status=503, resource="Calls")
    dispatcher = worker(database, clock, gateway, backoff_seconds=(120,))
    assert dispatcher.drain().outcomes == {"retry": 1}
    clock.advance(timedelta(minutes=2))  # 16:01 local: the retry is due, the hours are closed
    assert dispatcher.drain().outcomes == {"deferred": 1}
    row = reminder(database, booking, Via.VOICE)
    assert (row.status, row.due_at, row.moved_reason) == (ReminderStatus.PLANNED, opening, "outside_calling_hours")

    clock.set(opening - timedelta(minutes=1))
    assert dispatcher.drain().total == 0
    clock.set(opening)
    assert dispatcher.drain().outcomes == {"sent": 1}
    assert sends(standin) == 2 and len(standin.calls()) == 1  # the 503, then the call at 10:00


def test_a_fallback_that_falls_due_after_the_hours_waits_for_the_morning(database, world, people, standin, gateway):
    """New York, a weekday: the 19:58 call is not answered; Twilio says so at 20:01, and its SMS fallback, due at
    once, is after the hours (09:00-20:00): it goes out at 09:00 the next morning, before the 11:00 visit."""
    visit = datetime.fromisoformat("2026-03-11T11:00:00-04:00")  # Wednesday, after the spring change
    call_at = datetime.fromisoformat("2026-03-10T19:58:00-04:00")
    clock = FixedClock(call_at - timedelta(days=2))
    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {
                "steps": [
                    {
                        "offset_minutes": int((visit - call_at).total_seconds() // 60),
                        "channel": "voice",
                        "fallback": "sms",
                    }
                ]
            },
        )
    booking = make_booking(
        database, clock, world.a, start_at=visit, patient={"phone": "+12125550101", "timezone": "America/New_York"}
    ).id
    clock.set(call_at)
    dispatcher = worker(database, clock, gateway)
    assert dispatcher.drain().outcomes == {"sent": 1}

    clock.set(datetime.fromisoformat("2026-03-10T20:01:00-04:00"))
    call = reminder(database, booking, Via.VOICE)
    with database.writer() as s:
        assert (
            twilio_callbacks.call_status(s, clock, reminder_id=call.id, sid=call.provider_sid, status="no-answer")
            == "updated"
        )
    assert dispatcher.drain().outcomes == {"deferred": 1}
    assert standin.messages() == []
    morning = datetime.fromisoformat("2026-03-11T09:00:00-04:00")
    assert reminder(database, booking, Via.SMS).due_at == morning

    clock.set(morning)
    assert dispatcher.drain().outcomes == {"sent": 1}
    assert [m["to"] for m in standin.messages()] == ["+12125550101"]
