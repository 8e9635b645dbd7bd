"""Earnings are sums over the ledger: per period, per day, pending at the end, and a what-if."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.credit.earnings import period, staff_earnings, team_earnings, what_if
from recall.credit.payplan import PlanTerms
from recall.visits.booking_outcomes import cancel_booking, mark_attended
from tests.factories import make_booking


def test_the_default_period_is_the_calendar_month_in_the_clinics_zone(database, world):
    with database.reader() as s:
        clinic = get_clinic(s, world.a.clinic.id)
    # 23:30 UTC on 31 March is already 1 April in Stockholm (UTC+2 in summer).
    assert period(clinic, datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == (date(2026, 4, 1), date(2026, 4, 30))
    assert period(clinic, datetime(2026, 2, 14, 12, 0, tzinfo=UTC)) == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ValidationError):
        period(clinic, datetime(2026, 2, 14, tzinfo=UTC), date(2026, 2, 10), date(2026, 2, 1))


def test_earnings_split_into_earned_pending_and_voided_with_a_daily_breakdown(database, clock, world, people):
    operator = people["operator"]
    day1 = clock.now().replace(hour=10) + timedelta(days=1)
    day2 = day1 + timedelta(days=1)
    attended = make_booking(database, clock, world.a, by=operator, start_at=day1)
    cancelled = make_booking(database, clock, world.a, by=operator, start_at=day1, patient_id=world.a.patients[1].id)
    make_booking(database, clock, world.a, by=operator, start_at=day2)  # stays pending
    with database.writer() as s:
        cancel_booking(s, clock, operator, cancelled.id)
    clock.set(day1 + timedelta(minutes=5))
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], attended.id)

    with database.reader() as s:
        result = staff_earnings(s, operator.staff_id, date(2026, 3, 1), date(2026, 3, 31))
    assert (result.earned_cents, result.earned_count) == (1000, 1)
    assert (result.voided_cents, result.voided_count) == (1000, 1)
    assert (result.booked_cents, result.booked_count) == (3000, 3)
    assert (result.pending_cents, result.pending_count) == (1000, 1)
    by_day = {d.day: d for d in result.days}
    assert by_day[date(2026, 3, 2)].booked_count == 3 and by_day[date(2026, 3, 2)].voided_cents == 1000
    assert by_day[date(2026, 3, 3)].earned_cents == 1000


def test_pending_counts_what_was_still_open_at_the_end_of_a_past_range(database, clock, world, people):
    operator = people["operator"]
    start = clock.now() + timedelta(days=30)  # booked in March, visited in April
    booking = make_booking(database, clock, world.a, by=operator, start_at=start)
    clock.set(start)
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], booking.id)
    with database.reader() as s:
        march = staff_earnings(s, operator.staff_id, date(2026, 3, 1), date(2026, 3, 31))
        april = staff_earnings(s, operator.staff_id, date(2026, 4, 1), date(2026, 4, 30))
    assert (march.pending_cents, march.earned_cents) == (1000, 0)
    assert (april.pending_cents, april.earned_cents) == (0, 1000)


def test_the_team_view_lists_every_earning_staff_member_even_with_nothing_yet(database, clock, world, people):
    make_booking(database, clock, world.a, by=people["operator"], start_at=clock.now() + timedelta(days=1))
    with database.reader() as s:
        team = {row.staff_id: row for row in team_earnings(s, world.a.clinic.id, date(2026, 3, 1), date(2026, 3, 31))}
    assert set(team) == {people[k].staff_id for k in ("frontdesk", "frontdesk2", "operator", "operator2")}
    assert team[people["operator"].staff_id].pending_cents == 1000
    assert team[people["operator2"].staff_id].pending_cents == 0


def test_a_what_if_reprices_only_realized_bookings_under_the_proposed_plan(database, clock, world, people):
    operator = people["operator"]
    start = clock.now().replace(hour=10) + timedelta(days=1)
    realized = make_booking(database, clock, world.a, by=operator, start_at=start, service_id=world.a.services[1].id)
    make_booking(
        database, clock, world.a, by=operator, start_at=start, patient_id=world.a.patients[1].id
    )  # never attended
    clock.set(start)
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], realized.id)
    proposal = PlanTerms(500, 1200, Decimal("2"), {(world.a.services[1].id, Role.OPERATOR): 4000})
    with database.reader() as s:
        result = what_if(s, world.a.clinic.id, date(2026, 3, 1), date(2026, 3, 31), proposal)
    [row] = result.rows
    assert (row.staff_id, row.realized_count, row.actual_cents, row.proposed_cents) == (
        operator.staff_id,
        1,
        1000,
        4000,
    )
    assert result.proposed_cents - result.actual_cents == row.difference_cents == 3000
