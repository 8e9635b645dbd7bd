"""The reminder holdout on every configured database: which bookings it takes, that the side stays, and that a
held-out booking gets no automated reminder planned (and its human calls only if the clinic says so)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from recall.clinic.clinics import Clinic, update_clinic
from recall.reminders.holdout import held_out
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking
from recall.visits.bookings import move_booking
from tests.factories import make_booking, row

VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
SALT = "0123456789abcdef0123456789abcdef"
DESK_POLICY = {
    "steps": [
        {"offset_minutes": 24 * 60, "channel": "sms"},
        {"offset_minutes": 3 * 60, "channel": "frontdesk_call", "routine": False},
        {"offset_minutes": 120, "channel": "voice"},
    ]
}


def switch_on(database, people, percent, **more):
    """The manager's edit, then the salt fixed to a known value so that the sides below are reproducible."""
    with database.writer() as s:
        clinic = update_clinic(s, people["manager"], {"reminder_holdout_percent": percent, **more})
        assert clinic.reminder_holdout_salt is not None and len(clinic.reminder_holdout_salt) == 32
        clinic.reminder_holdout_salt = SALT
        s.commit()


def book(database, clock, world, n, start_at=VISIT):
    return [
        make_booking(database, clock, world.a, start_at=start_at, patient={"phone": f"+4670{2000000 + i:07d}"}).id
        for i in range(n)
    ]


def reminders_of(database, booking_id):
    with database.reader() as s:
        rows = s.scalars(sa.select(Reminder).where(Reminder.booking_id == booking_id).order_by(Reminder.id)).all()
        return [(r.channel, r.status, r.outcome) for r in rows]


def test_the_holdout_is_off_by_default_and_bookings_then_have_no_side(database, clock, world):
    assert row(database, Clinic, world.a.clinic.id).reminder_holdout_percent == 0
    booking = book(database, clock, world, 1)[0]
    assert row(database, Booking, booking).holdout is None
    assert {status for _, status, _ in reminders_of(database, booking)} == {ReminderStatus.PLANNED}


def test_the_held_out_bookings_are_the_hash_s_choice_in_about_the_share_asked(database, clock, world, people):
    switch_on(database, people, 50)
    ids = book(database, clock, world, 40)
    with database.reader() as s:
        sides = dict(s.execute(sa.select(Booking.id, Booking.holdout).where(Booking.id.in_(ids))).all())
    assert sides == {b: held_out(world.a.clinic.id, b, SALT, 50) for b in ids}
    # 40 bookings at 50 %: 20 expected, sd 3.2; five of them either way.
    assert 4 <= sum(sides.values()) <= 36


def test_a_held_out_booking_gets_no_automated_reminder_and_a_reminded_one_gets_all(database, clock, world, people):
    switch_on(database, people, 50)
    ids = book(database, clock, world, 12)
    for b in ids:
        states = reminders_of(database, b)
        if row(database, Booking, b).holdout:
            assert states == [
                (Via.SMS, ReminderStatus.SKIPPED, "held_out"),
                (Via.VOICE, ReminderStatus.SKIPPED, "held_out"),
            ]
        else:
            assert states == [(Via.SMS, ReminderStatus.PLANNED, None), (Via.VOICE, ReminderStatus.PLANNED, None)]


def test_the_side_stays_when_the_share_changes_and_the_booking_is_replanned(database, clock, world, people):
    switch_on(database, people, 50)
    ids = book(database, clock, world, 12)
    before = {b: row(database, Booking, b).holdout for b in ids}
    assert True in before.values() and False in before.values()
    with database.writer() as s:
        update_clinic(s, people["manager"], {"reminder_holdout_percent": 0})
    for b in ids:
        with database.writer() as s:
            move_booking(s, clock, people["operator"], b, start_at=VISIT + timedelta(days=1))
    assert {b: row(database, Booking, b).holdout for b in ids} == before
    for b in ids:
        waiting = [ch for ch, status, _ in reminders_of(database, b) if status is ReminderStatus.PLANNED]
        assert waiting == ([] if before[b] else [Via.SMS, Via.VOICE])
    # A booking made after the holdout was switched off has no side.
    assert row(database, Booking, book(database, clock, world, 1)[0]).holdout is None


def test_switching_the_holdout_off_and_on_keeps_its_salt(database, people, world):
    with database.writer() as s:
        first = update_clinic(s, people["manager"], {"reminder_holdout_percent": 5}).reminder_holdout_salt
    with database.writer() as s:
        update_clinic(s, people["manager"], {"reminder_holdout_percent": 0})
    with database.writer() as s:
        assert update_clinic(s, people["manager"], {"reminder_holdout_percent": 10}).reminder_holdout_salt == first


def _desk_calls(database, clock, world, people, *, human_calls):
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], DESK_POLICY)
    switch_on(database, people, 50, holdout_human_calls=human_calls)
    ids = book(database, clock, world, 12)
    held = [b for b in ids if row(database, Booking, b).holdout]
    assert held
    return held


def test_held_out_bookings_keep_the_policy_s_human_calls_when_the_clinic_says_so(database, clock, world, people):
    for b in _desk_calls(database, clock, world, people, human_calls=True):
        assert reminders_of(database, b) == [
            (Via.SMS, ReminderStatus.SKIPPED, "held_out"),
            (Via.FRONTDESK_CALL, ReminderStatus.PLANNED, None),
            (Via.VOICE, ReminderStatus.SKIPPED, "held_out"),
        ]


def test_held_out_bookings_get_no_human_call_either_by_default(database, clock, world, people):
    for b in _desk_calls(database, clock, world, people, human_calls=False):
        assert {(status, why) for _, status, why in reminders_of(database, b)} == {(ReminderStatus.SKIPPED, "held_out")}
