"""The demo clinic gives every page something real: earnings earned and pending for each operator and the desk,
three weeks of calls for the KPIs, recall work due in the queue, and patients on today's schedule."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from recall.clinic.clinics import Clinic
from recall.common.actors import Role
from recall.credit.earnings import team_earnings
from recall.demo import load_demo
from recall.queue.attempts import ContactAttempt
from recall.queue.tasks import RecallTask, TaskStatus
from recall.reminders.planning import Channel as ReminderChannel
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking, BookingStatus, list_bookings


def test_the_demo_clinic_has_three_weeks_of_work_and_a_day_to_show(database, clock):
    with database.writer() as s:
        report = load_demo(s, clock)
        s.commit()
    assert "API tokens" in report
    now = clock.now()
    with database.writer() as s:
        clinic = s.scalars(sa.select(Clinic)).one()
        summaries = team_earnings(s, clinic.id, (now - timedelta(days=30)).date(), (now + timedelta(days=30)).date())
        operators = [m for m in summaries if m.role is Role.OPERATOR]
        assert len(operators) == 3 and all(m.earned_cents > 0 for m in operators)
        assert any(m.pending_cents > 0 for m in operators)
        assert any(m.role is Role.FRONTDESK and m.earned_cents > 0 for m in summaries)
        days_called = {a.started_at.date() for a in s.scalars(sa.select(ContactAttempt))}
        assert len(days_called) >= 10
        due = s.scalar(
            sa.select(sa.func.count())
            .select_from(RecallTask)
            .where(RecallTask.clinic_id == clinic.id, RecallTask.status == TaskStatus.OPEN, RecallTask.due_at <= now)
        )
        assert due >= 10
        end_of_day = now.replace(hour=23, minute=0)
        today = s.scalars(list_bookings(clinic.id, start_from=now.replace(hour=0), start_to=end_of_day)).all()
        assert len(today) >= 5
        kept = s.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.status == BookingStatus.ATTENDED))
        missed = s.scalar(
            sa.select(sa.func.count()).select_from(Booking).where(Booking.status == BookingStatus.NO_SHOW)
        )
        assert kept >= 10 and missed >= 1
        # The desk has reminder calls to make: the demo's policy calls the day before a visit.
        calls = s.scalar(
            sa.select(sa.func.count())
            .select_from(Reminder)
            .where(Reminder.channel == ReminderChannel.FRONTDESK_CALL, Reminder.status == ReminderStatus.PLANNED)
        )
        assert calls >= 3
