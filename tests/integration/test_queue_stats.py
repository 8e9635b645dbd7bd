"""Team KPIs, checked against figures worked out by hand (queue health and the forecast: test_queue_health).

Times are written in the clinic's zone, Europe/Stockholm: CET (UTC+1) until 2026-03-29 01:00 UTC,
CEST (UTC+2) after. The KPI day is worked through the real use cases (claim_next, log_attempt, the
booking flow) with the clock moved between steps; the DST week and the history behind the forecast
are rows written directly, because calling hours would not hand out a task at midnight.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from recall.clinic.clinics import get_clinic, update_clinic
from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.common.errors import ValidationError
from recall.queue.attempts import (
    AttemptInput,
    AttemptResult,
    BookingDetails,
    Outcome,
    log_attempt,
)
from recall.queue.claims import claim_next
from recall.queue.stats import KpiRow, team_kpis
from recall.visits.booking_outcomes import cancel_booking, mark_attended, mark_no_show
from recall.visits.bookings import BookingRequest, Channel, create_booking
from tests.factories import World, make_patient
from tests.integration._queue_rows import add_attempt, add_task, figures, local


def kpis(database: Database, world: World, start: datetime, end: datetime, **kw: Any) -> list[KpiRow]:
    with database.reader() as s:
        return team_kpis(s, get_clinic(s, world.a.clinic.id), start=start, end=end, **kw)


# --- a worked Monday and Tuesday, through the use cases ------------------------------------------------------------


class Desk:
    """Claims a task at the start of a call and logs it at the end, as an operator's screen would."""

    def __init__(self, database: Database, clock: FixedClock, world: World):
        self.database, self.clock, self.world = database, clock, world
        self.service = world.a.services[0].id
        self.count = 0

    def task(self, due: datetime) -> int:
        self.count += 1
        patient = make_patient(self.database, self.clock, self.world.a.clinic.id, full_name=f"Patient {self.count}")
        return add_task(self.database, self.world, due=due, created=self.clock.now(), patient_id=patient.id)

    def call(
        self,
        who: Actor,
        task_id: int,
        start: datetime,
        end: datetime,
        outcome: Outcome,
        books_for: datetime | None = None,
        **kw: Any,
    ) -> AttemptResult:
        self.clock.set(start)
        with self.database.writer() as s:
            claim = claim_next(s, self.clock, who)
        assert claim.task is not None and claim.task.id == task_id, "the script expects this task to be next"
        self.clock.set(end)
        booking = BookingDetails(start_at=books_for, service_id=self.service) if books_for else None
        with self.database.writer() as s:
            return log_attempt(
                s,
                self.clock,
                who,
                task_id,
                AttemptInput(
                    outcome=outcome, duration_seconds=int((end - start).total_seconds()), booking=booking, **kw
                ),
            )

    def at(self, when: datetime, use_case: Any, who: Actor, *args: Any) -> Any:
        self.clock.set(when)
        with self.database.writer() as s:
            return use_case(s, self.clock, who, *args)


@pytest.fixture
def worked(database: Database, clock: FixedClock, world: World, people: dict[str, Actor]) -> dict[str, int]:
    """op1 works Monday 2 March, op2 a little on Monday and on Tuesday 3 March. Two unanswered tries
    make a task unreachable here."""
    with database.writer() as s:
        update_clinic(s, Actor.system(world.a.clinic.id), {"recall_max_attempts": 2})
    op1, op2, desk = people["operator"], people["operator2"], people["frontdesk"]
    d = Desk(database, clock, world)
    t1, t2, t3, t4, t5 = (d.task(local(2, hhmm)) for hhmm in ("09:00", "09:09", "09:20", "10:00", "10:06"))
    t8, t6, t7 = d.task(local(2, "16:00")), d.task(local(3, "11:00")), d.task(local(3, "11:05"))

    d.call(op1, t1, local(2, "09:00"), local(2, "09:05"), Outcome.NO_ANSWER)  # due again 4 h later
    b2 = d.call(op1, t2, local(2, "09:09"), local(2, "09:12"), Outcome.BOOKED, local(3, "10:00")).booking_id
    d.call(op1, t3, local(2, "09:20"), local(2, "09:26"), Outcome.DECLINED, decline_reason="feels fine")
    d.call(op1, t4, local(2, "10:00"), local(2, "10:04"), Outcome.CALLBACK_REQUESTED, callback_at=local(2, "14:00"))
    b5 = d.call(op1, t5, local(2, "10:06"), local(2, "10:10"), Outcome.BOOKED, local(4, "09:00")).booking_id
    d.call(op1, t1, local(2, "13:10"), local(2, "13:12"), Outcome.NO_ANSWER)  # the second miss: unreachable
    d.call(op1, t4, local(2, "14:00"), local(2, "14:04"), Outcome.BOOKED, local(20, "10:00", month=4))
    d.call(op2, t8, local(2, "16:00"), local(2, "16:06"), Outcome.WRONG_NUMBER)  # parked
    d.at(local(3, "10:00"), mark_attended, desk, b2)
    d.call(op2, t6, local(3, "11:00"), local(3, "11:02"), Outcome.NO_ANSWER)
    b7 = d.call(op2, t7, local(3, "11:05"), local(3, "11:09"), Outcome.BOOKED, local(6, "10:00")).booking_id
    d.at(local(3, "11:15"), cancel_booking, op2, b7)
    stranger = make_patient(database, clock, world.a.clinic.id, full_name="Walk-in caller")
    d.at(
        local(3, "12:00"),
        create_booking,
        op2,
        BookingRequest(  # credited to op2, but not from the queue
            patient_id=stranger.id, start_at=local(20, "11:00", month=4), channel=Channel.PHONE, service_id=d.service
        ),
    )
    d.call(op2, t6, local(3, "15:10"), local(3, "15:13"), Outcome.BOOKED, local(10, "09:00"))
    d.at(local(4, "09:30"), mark_no_show, desk, b5)
    return {"op1": op1.staff_id, "op2": op2.staff_id}


def test_each_operators_day_adds_up_to_the_figures_worked_out_by_hand(database, world, worked):
    op1, op2 = worked["op1"], worked["op2"]
    rows = kpis(database, world, local(2, "00:00"), local(4, "00:00"))
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert [(r.period_start, r.staff_id) for r in rows] == [
        (monday, None),
        (monday, op1),
        (monday, op2),
        (tuesday, None),
        (tuesday, op2),
    ]
    team1, o1, o2, team2, o2b = rows

    # op1, Monday: 09:00-09:05, 09:09-09:12, 09:20-09:26 | 34 min idle breaks the stretch | 10:00-10:04,
    # 10:06-10:10 | 13:10-13:12 | 14:00-14:04 (48 min after). Stretches 26 + 10 + 2 + 4 min = 2520 s = 0.7 h,
    # 7 attempts -> 10 an hour. Calls 300+180+360+240+240+120+240 = 1680 s -> 240 s each. Wrap-up inside
    # stretches 4 + 8 + 2 min = 840 s over 3 gaps -> 280 s.
    assert figures(o1, "attempts", "working_seconds", "attempts_per_hour") == (7, 2520, pytest.approx(10.0))
    assert figures(o1, "handle_seconds", "avg_handle_seconds") == (1680, pytest.approx(240.0))
    assert figures(o1, "wrap_up_seconds", "wrap_up_gaps", "avg_wrap_up_seconds") == (840, 3, pytest.approx(280.0))
    # Answered: booked x3, declined, callback requested; the two no-answers are not contacts.
    assert figures(o1, "contacts", "refusals", "bookings", "contact_rate") == (5, 1, 3, pytest.approx(5 / 7))
    # Beside 10 attempts an hour, 5 patients reached in 0.7 h of work.
    assert o1.contacts_per_hour == pytest.approx(5 / 0.7)
    # Closed by op1: t2, t5, t4 won; t3 declined; t1 unreachable -> 3 of 5.
    assert figures(o1, "tasks_won", "tasks_closed", "closed_declined", "closed_unreachable", "conversion") == (
        3,
        5,
        1,
        1,
        pytest.approx(0.6),
    )
    # t2 and t5 booked on their first answered call; t4 only on the callback after "call me at 14:00".
    assert figures(o1, "first_contact_wins", "first_contact_resolution") == (2, pytest.approx(2 / 3))
    # Bookings credited: t2's attended, t5's a no-show, t4's still ahead (left out of the rate).
    assert figures(
        o1,
        "credited_bookings",
        "bookings_attended",
        "bookings_no_show",
        "bookings_pending",
        "bookings_with_outcome",
        "realized_rate",
    ) == (3, 1, 1, 1, 2, pytest.approx(0.5))

    # op2, Monday: one 6-minute call to a wrong number; no gaps, closures or bookings -> null ratios.
    assert figures(o2, "attempts", "contacts", "working_seconds", "attempts_per_hour") == (1, 0, 360, 10.0)
    assert o2.contacts_per_hour == 0
    assert figures(o2, "avg_wrap_up_seconds", "conversion", "first_contact_resolution", "realized_rate") == (
        None,
        None,
        None,
        None,
    )
    # The team's Monday: both summed; 8 attempts over 0.8 h.
    assert figures(team1, "staff_id", "attempts", "working_seconds", "attempts_per_hour", "avg_handle_seconds") == (
        None,
        8,
        2880,
        pytest.approx(10.0),
        pytest.approx(255.0),
    )
    assert figures(team1, "tasks_won", "tasks_closed", "first_contact_wins", "realized_rate") == (3, 5, 2, 0.5)

    # op2, Tuesday: 11:00-11:02 no answer, 11:05-11:09 booked | 15:10-15:13 booked the first task, the first
    # answered call on it, so still first-contact. 9 + 3 min = 720 s -> 3 attempts at 15 an hour.
    assert figures(o2b, "attempts", "working_seconds", "attempts_per_hour", "avg_wrap_up_seconds") == (
        3,
        720,
        pytest.approx(15.0),
        pytest.approx(180.0),
    )
    assert figures(o2b, "tasks_won", "tasks_closed", "conversion", "first_contact_resolution") == (2, 2, 1.0, 1.0)
    # Credited: the cancelled one, one still ahead, and the walk-in caller's booking made outside the queue.
    assert figures(o2b, "bookings", "credited_bookings", "bookings_cancelled", "bookings_pending", "realized_rate") == (
        2,
        3,
        1,
        2,
        0.0,
    )
    assert figures(team2, "attempts", "working_seconds", "credited_bookings") == (3, 720, 3)


def test_a_week_sums_its_days_and_a_staff_filter_keeps_the_team_rows(database, world, worked):
    [team, o1, o2] = kpis(database, world, local(2, "00:00"), local(4, "00:00"), group="week")
    assert (team.period_start, team.period_end) == (date(2026, 3, 2), date(2026, 3, 8))
    # 11 attempts over 2520 + 360 + 720 = 3600 s; 5 of 7 closures won, 4 of them on the first contact;
    # realized: 1 attended of 3 known (a no-show and a cancellation), 3 still ahead.
    assert figures(team, "attempts", "working_seconds", "attempts_per_hour") == (11, 3600, pytest.approx(11.0))
    assert figures(team, "conversion", "first_contact_resolution") == (pytest.approx(5 / 7), pytest.approx(0.8))
    assert figures(team, "bookings_pending", "realized_rate") == (3, pytest.approx(1 / 3))
    assert (o1.attempts, o2.attempts) == (7, 4)

    only = kpis(database, world, local(2, "00:00"), local(4, "00:00"), staff_id=worked["op1"])
    assert [(r.period_start.day, r.staff_id) for r in only] == [(2, None), (2, worked["op1"]), (3, None)]


def test_weeks_and_days_follow_local_midnight_across_the_spring_dst_change(database, world, people):
    op = people["operator"]
    task = add_task(database, world, due=local(28, "09:00"))
    add_attempt(database, task, op, local(28, "23:30"), local(28, "23:40"))  # Sat, CET: 22:30 UTC
    add_attempt(database, task, op, local(29, "01:30"), local(29, "01:40"))  # Sun, CET, before the change
    add_attempt(database, task, op, local(29, "23:50"), local(29, "23:55"))  # Sun, CEST
    add_attempt(database, task, op, local(30, "00:05"), local(30, "00:10"))  # Mon 00:05 CEST is Sunday 22:05 UTC
    add_attempt(database, task, op, local(30, "00:40"), local(30, "00:55"))  # exactly 30 min later: same stretch
    weeks = kpis(database, world, local(23, "00:00"), local(6, "00:00", month=4), group="week")
    mine = {r.period_start: r for r in weeks if r.staff_id == op.staff_id}
    # Week of 23 March: three separate calls, 10 + 10 + 5 min = 1500 s -> 3 / (1500/3600) = 7.2 an hour, no gaps.
    assert figures(
        mine[date(2026, 3, 23)], "attempts", "working_seconds", "attempts_per_hour", "avg_wrap_up_seconds"
    ) == (3, 1500, pytest.approx(7.2), None)
    # Week of 30 March: the stretch that began on Sunday 23:50 goes on; the 00:05 call adds its 10 idle minutes
    # and 5 of its own, the 00:40 one 30 + 15: 3600 s -> 2 an hour; wrap-up (600 + 1800) / 2.
    assert figures(
        mine[date(2026, 3, 30)],
        "attempts",
        "working_seconds",
        "attempts_per_hour",
        "avg_wrap_up_seconds",
        "avg_handle_seconds",
    ) == (2, 3600, 2.0, 1200.0, 600.0)
    days = {
        r.period_start: (r.attempts, r.working_seconds)
        for r in kpis(database, world, local(28, "00:00"), local(31, "00:00"))
        if r.staff_id is None
    }
    assert days == {date(2026, 3, 28): (1, 600), date(2026, 3, 29): (2, 900), date(2026, 3, 30): (2, 3600)}
    # A range that starts mid-stretch counts the stretch as a longer range does.
    [team, row] = kpis(database, world, local(30, "00:00"), local(6, "00:00", month=4), group="week")
    assert (team.working_seconds, row.working_seconds) == (3600, 3600)


def test_a_kpi_range_must_be_forward_and_at_most_366_days(database, world):
    for start, end in (
        (local(3, "00:00"), local(2, "00:00")),
        (local(2, "00:00"), local(2, "00:00") + timedelta(days=367)),
    ):
        with pytest.raises(ValidationError) as refused:
            kpis(database, world, start, end)
        assert "to" in refused.value.fields
    assert len(kpis(database, world, local(2, "00:00"), local(2, "00:00") + timedelta(days=366))) == 366


# --- queue health ----------------------------------------------------------------------------------------------------
