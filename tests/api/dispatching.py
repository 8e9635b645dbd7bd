"""What the dispatch tests share: a dispatcher with test settings, bookings at VISIT, and the reminders' states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder
from tests.factories import make_booking

VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
SMS_TIME = VISIT - timedelta(hours=24)


def dispatcher_for(database, clock, gateway, **kw) -> Dispatcher:
    settings = DispatchSettings(
        worker_id=kw.pop("worker_id", "w1"),
        callback_base="https://clinic.example.com",
        concurrency=kw.pop("concurrency", 4),
        default_from="+46700000000",
        **kw,
    )
    return Dispatcher(database, clock, gateway, gateway, settings)


def booked(database, clock, world, people, n=1, **patient_kw):
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


def reminder_states(database, channel=Via.SMS):
    with database.reader() as s:
        rows = s.scalars(sa.select(Reminder).where(Reminder.channel == channel).order_by(Reminder.id)).all()
        return [(r.status, r.outcome) for r in rows]


def policy_at(database, clock, people, rate):
    with database.writer() as s:
        replace_policy(
            s,
            clock,
            people["manager"],
            {"steps": [{"offset_minutes": 24 * 60, "channel": "sms"}], "rate_limits": {"sms_per_second": rate}},
        )
