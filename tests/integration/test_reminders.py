"""Reminder planning rides in the booking's own transaction, on every configured database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.errors import ValidationError
from recall.reminders.patient_edits import update_patient
from recall.reminders.planning import Channel as Via
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.bookings import confirm_booking, move_booking
from tests.factories import make_booking, make_patient

UTC = UTC
# Monday 2026-03-02 08:00 UTC; the visit is on Thursday at 13:00 Stockholm (12:00 UTC).
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def _reminders(database, booking_id):
    with database.reader() as s:
        rows = s.scalars(sa.select(Reminder).where(Reminder.booking_id == booking_id).order_by(Reminder.id)).all()
        return [(r.channel, r.status, r.send_at, r.outcome) for r in rows]


def _waiting(database, booking_id):
    return [(c, at) for c, st, at, _ in _reminders(database, booking_id) if st is ReminderStatus.PLANNED]


def test_a_booking_is_planned_by_the_default_policy_in_the_same_transaction(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    # SMS 24 h before and a voice call 2 h before, both inside the weekday hours in Stockholm.
    assert _waiting(database, booking.id) == [
        (Via.SMS, VISIT - timedelta(hours=24)),
        (Via.VOICE, VISIT - timedelta(hours=2)),
    ]


def test_a_booking_made_thirty_minutes_ahead_gets_only_the_steps_that_still_make_sense(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=clock.now() + timedelta(minutes=30))
    assert _waiting(database, booking.id) == []
    assert {(c, st, why) for c, st, _, why in _reminders(database, booking.id)} == {
        (Via.SMS, ReminderStatus.SKIPPED, "too_late"),
        (Via.VOICE, ReminderStatus.SKIPPED, "too_late"),
    }


def test_an_early_morning_visit_moves_its_call_to_the_evening_before(database, clock, world, people):
    early = datetime(2026, 3, 5, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm; 2 h before is 06:00, before 09:00
    booking = make_booking(database, clock, world.a, start_at=early)
    # The last allowed moment before 06:00 on Thursday is one minute before Wednesday's 20:00 close.
    assert _waiting(database, booking.id)[1] == (Via.VOICE, datetime(2026, 3, 4, 18, 59, tzinfo=UTC))


def test_cancelling_a_booking_cancels_its_waiting_reminders_before_they_are_sent(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], booking.id, "patient asked")
    assert _waiting(database, booking.id) == []
    assert {why for _, st, _, why in _reminders(database, booking.id)} == {"cancelled"}


def test_moving_a_booking_replans_and_leaves_no_reminder_for_the_old_time(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    later = VISIT + timedelta(days=1)
    with database.writer() as s:
        move_booking(s, clock, people["operator"], booking.id, start_at=later)
    assert _waiting(database, booking.id) == [
        (Via.SMS, later - timedelta(hours=24)),
        (Via.VOICE, later - timedelta(hours=2)),
    ]
    old = [at for _, st, at, _ in _reminders(database, booking.id) if st is ReminderStatus.CANCELLED]
    assert old == [VISIT - timedelta(hours=24), VISIT - timedelta(hours=2)]


def test_a_confirmed_booking_drops_the_steps_the_policy_does_not_run_once_confirmed(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    with database.writer() as s:
        confirm_booking(s, clock, people["operator"], booking.id)
    assert _waiting(database, booking.id) == []


def test_opting_out_cancels_every_waiting_reminder_of_the_patient(database, clock, world, people):
    patient = make_patient(database, clock, world.a.clinic.id).id
    first = make_booking(database, clock, world.a, patient_id=patient, start_at=VISIT)
    second = make_booking(database, clock, world.a, patient_id=patient, start_at=VISIT + timedelta(days=7))
    with database.writer() as s:
        update_patient(s, clock, Actor.system(world.a.clinic.id), patient, {"opted_out": True})
    assert _waiting(database, first.id) == [] and _waiting(database, second.id) == []


def test_a_patient_without_sms_consent_gets_no_sms_step(database, clock, world, people):
    patient = make_patient(database, clock, world.a.clinic.id, consent_sms=False).id
    booking = make_booking(database, clock, world.a, patient_id=patient, start_at=VISIT)
    assert _waiting(database, booking.id) == [(Via.VOICE, VISIT - timedelta(hours=2))]
    assert (Via.SMS, ReminderStatus.SKIPPED, VISIT - timedelta(hours=24), "no_consent") in _reminders(
        database, booking.id
    )


def test_a_policy_change_replans_every_future_booking(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    policy = {
        "steps": [
            {"offset_minutes": 48 * 60, "channel": "sms"},
            {"offset_minutes": 3 * 60, "channel": "operator_call", "routine": False},
        ]
    }
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], policy)
    assert _waiting(database, booking.id) == [
        (Via.SMS, VISIT - timedelta(hours=48)),
        (Via.OPERATOR_CALL, VISIT - timedelta(hours=3)),
    ]


@pytest.mark.parametrize(
    "zone,start,expected_sms",
    [
        # Stockholm springs forward on Sunday 2026-03-29. 24 elapsed hours before 09:30 CEST on Monday is 09:30 CEST
        # on Sunday, before the weekend hours (10:00-16:00): it moves to Saturday 15:59 CET, 14:59 UTC.
        ("Europe/Stockholm", datetime(2026, 3, 30, 7, 30, tzinfo=UTC), datetime(2026, 3, 28, 14, 59, tzinfo=UTC)),
        # New York falls back on Sunday 2026-11-01. 24 elapsed hours before 10:00 EST on Monday is 10:00 EST on
        # Sunday, inside the weekend hours: it stays, though the wall clock shows the same hour on both days.
        ("America/New_York", datetime(2026, 11, 2, 15, 0, tzinfo=UTC), datetime(2026, 11, 1, 15, 0, tzinfo=UTC)),
    ],
)
def test_reminders_are_planned_in_the_patients_zone_across_a_dst_change(
    database, world, people, zone, start, expected_sms
):
    clock = FixedClock(start - timedelta(days=5))
    patient = make_patient(database, clock, world.a.clinic.id, timezone=zone).id
    booking = make_booking(database, clock, world.a, patient_id=patient, start_at=start)
    assert _waiting(database, booking.id)[0] == (Via.SMS, expected_sms)


def test_a_bad_policy_changes_nothing(database, clock, world, people):
    booking = make_booking(database, clock, world.a, start_at=VISIT)
    before = _reminders(database, booking.id)
    with database.writer() as s, pytest.raises(ValidationError):
        replace_policy(s, clock, people["manager"], {"steps": [{"offset_minutes": -5, "channel": "sms"}]})
    assert _reminders(database, booking.id) == before
