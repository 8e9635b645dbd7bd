"""GET /reports/no-shows against a hand-computed fixture, on every configured database: the holdout's causal
comparison, the plain one without a holdout, an empty period, the CSV, and visit days across DST in Stockholm."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.common.clock import FixedClock
from recall.reminders.planning import Channel as Via
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking, BookingStatus
from tests.factories import api_as, make_booking

BOOKED_AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # every fixture booking is made then, a day or more ahead


def visit(database, world, start_at, *, status, holdout=None, sent=(), clock_at=None):
    """A booking of a new patient at ``start_at`` with an outcome, its side, and which of its default steps (an SMS
    a day ahead, a voice call 2 h ahead) went out: the others are cancelled."""
    clock = FixedClock(clock_at or min(BOOKED_AT, start_at - timedelta(days=2)))
    n = visit.count = getattr(visit, "count", 0) + 1
    booking = make_booking(database, clock, world.a, start_at=start_at, patient={"phone": f"+4670{3000000 + n:07d}"})
    with database.writer() as s:
        s.execute(sa.update(Booking).where(Booking.id == booking.id).values(status=status, holdout=holdout))
        for channel in (Via.SMS, Via.VOICE):
            went = ReminderStatus.SENT if channel is Via.SMS else ReminderStatus.DELIVERED
            s.execute(
                sa.update(Reminder)
                .where(Reminder.booking_id == booking.id, Reminder.channel == channel)
                .values(status=went if channel in sent else ReminderStatus.CANCELLED)
            )
        s.commit()
    return booking.id


def at(i):
    """The i-th visit time of the week of 2 March 2026, all inside Stockholm's days 2-8 March."""
    return datetime(2026, 3, 2 + i % 7, 8 + i // 7, 0, tzinfo=UTC)


@pytest.fixture
def week(database, world):
    """Reminded arm: 20 with an outcome, 2 no-shows (both got only the SMS; 10 others the SMS and the call), and
    one cancelled. Held-out arm: 10, 4 no-shows. One attended booking planned before the holdout (no side), one
    visit the next Monday (out of range)."""
    i = 0
    for k in range(20):
        status = BookingStatus.NO_SHOW if k < 2 else BookingStatus.ATTENDED
        sent = (Via.SMS, Via.VOICE) if k >= 10 else (Via.SMS,)
        visit(database, world, at(i), status=status, holdout=False, sent=sent)
        i += 1
    visit(database, world, at(i), status=BookingStatus.CANCELLED, holdout=False, sent=(Via.SMS,))
    i += 1
    for k in range(10):
        visit(database, world, at(i), status=BookingStatus.NO_SHOW if k < 4 else BookingStatus.ATTENDED, holdout=True)
        i += 1
    visit(database, world, at(i), status=BookingStatus.ATTENDED, sent=(Via.SMS,))
    visit(database, world, datetime(2026, 3, 9, 9, 0, tzinfo=UTC), status=BookingStatus.NO_SHOW, holdout=True)


def report(client, world, query="?from=2026-03-02&to=2026-03-08"):
    answer = api_as(client, world.a, "manager").get(f"/reports/no-shows{query}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def by_group(rows):
    return {r["group"]: r for r in rows}


def test_the_holdout_report_compares_the_arms_with_hand_computed_wilson_bounds(client, world, week):
    r = report(client, world)
    assert (r["mode"], r["causal"], r["outside_holdout"]) == ("holdout", True, 1)
    reminded, held = r["arms"]
    assert (reminded["group"], reminded["bookings"], reminded["no_shows"], reminded["cancelled"]) == (
        "reminded",
        20,
        2,
        1,
    )
    assert (held["group"], held["bookings"], held["no_shows"], held["cancelled"]) == ("held_out", 10, 4, 0)
    assert reminded["no_show_rate"] == pytest.approx(0.1) and held["no_show_rate"] == pytest.approx(0.4)
    # Wilson 2/20: (0.1 + 1.9208/20) / 1.19207 -+ 1.96 * sqrt(0.0045 + 0.0024009) / 1.19207.
    assert (reminded["ci_low"], reminded["ci_high"]) == pytest.approx((0.02787, 0.30103), abs=5e-5)
    assert (held["ci_low"], held["ci_high"]) == pytest.approx((0.16818, 0.68733), abs=5e-5)
    assert reminded["cancellation_rate"] == pytest.approx(1 / 21)
    # Pooled 6/30 = 0.2: z = -0.3 / sqrt(0.16 * 0.15) = -1.9365, p = 0.0528: not significant yet.
    assert reminded["z"] == pytest.approx(-1.9365, abs=1e-4) and reminded["p_value"] == pytest.approx(0.0528, abs=1e-4)
    assert (reminded["significant"], reminded["intervals_overlap"], r["verdict"]) == (False, True, "not_significant")
    assert held["difference"] is None and held["significant"] is None
    assert "not significant yet" in r["statement"] and "not causal" not in r["statement"]


def test_the_holdout_report_breaks_the_reminded_arm_down_by_channel_and_step(client, world, week):
    r = report(client, world)
    channels, steps = by_group(r["channels"]), by_group(r["steps"])
    assert set(channels) == {"sms", "voice"} and set(steps) == {"sms@1440", "voice@120"}
    assert (channels["sms"]["bookings"], channels["sms"]["no_shows"], channels["sms"]["cancelled"]) == (20, 2, 1)
    voice = channels["voice"]
    assert (voice["bookings"], voice["no_shows"], voice["ci_low"]) == (10, 0, 0.0)
    assert voice["ci_high"] == pytest.approx(0.27753, abs=5e-5)
    # 0/10 against 4/10: pooled 0.2, z = -0.4 / sqrt(0.16 * 0.2) = -2.2361, p = 0.0253.
    assert voice["p_value"] == pytest.approx(0.0253, abs=1e-4) and voice["significant"] is True
    assert steps["voice@120"]["offset_minutes"] == 120 and steps["voice@120"]["no_shows"] == 0


def test_without_a_holdout_the_report_is_the_plain_comparison_and_says_it_is_not_causal(database, client, world):
    for k in range(4):
        visit(
            database, world, at(k), status=BookingStatus.NO_SHOW if k == 0 else BookingStatus.ATTENDED, sent=(Via.SMS,)
        )
    visit(database, world, at(4), status=BookingStatus.NO_SHOW)
    visit(database, world, at(5), status=BookingStatus.ATTENDED)
    r = report(client, world)
    assert (r["mode"], r["causal"]) == ("observational", False)
    reminded, unreminded = r["arms"]
    assert (reminded["group"], reminded["bookings"], reminded["no_shows"]) == ("reminded", 4, 1)
    assert (unreminded["group"], unreminded["bookings"], unreminded["no_shows"]) == ("not_reminded", 2, 1)
    # Wilson 1/2: centre (0.5 + 0.96036) / 2.92073 = 0.5, half-width 1.96 * sqrt(0.125 + 0.24009) / 2.92073.
    assert (unreminded["ci_low"], unreminded["ci_high"]) == pytest.approx((0.09453, 0.90547), abs=5e-5)
    assert "not causal" in r["statement"]


def test_an_empty_period_reports_no_data_and_no_rates(client, world, week):
    r = report(client, world, "?from=2026-04-01&to=2026-04-30")
    assert r["verdict"] == "no_data" and r["mode"] == "observational"
    assert [(a["bookings"], a["no_show_rate"], a["ci_low"]) for a in r["arms"]] == [(0, None, None)] * 2
    assert r["channels"] == [] and r["steps"] == []
    assert "Not enough data" in r["statement"]


@pytest.mark.parametrize(
    ("day", "inside", "outside"),
    [
        # Spring forward: 29 March is 23 hours long, 23:00Z on the 28th to 22:00Z on the 29th.
        (
            "2026-03-29",
            [datetime(2026, 3, 28, 23, 30, tzinfo=UTC), datetime(2026, 3, 29, 21, 30, tzinfo=UTC)],
            [datetime(2026, 3, 28, 22, 30, tzinfo=UTC), datetime(2026, 3, 29, 22, 30, tzinfo=UTC)],
        ),
        # Fall back: 25 October is 25 hours long, 22:00Z on the 24th to 23:00Z on the 25th.
        (
            "2026-10-25",
            [datetime(2026, 10, 24, 22, 30, tzinfo=UTC), datetime(2026, 10, 25, 22, 30, tzinfo=UTC)],
            [datetime(2026, 10, 24, 21, 30, tzinfo=UTC), datetime(2026, 10, 25, 23, 30, tzinfo=UTC)],
        ),
    ],
)
def test_a_visit_day_across_a_dst_change_is_the_stockholm_day(database, client, world, day, inside, outside):
    for start in inside:
        visit(database, world, start, status=BookingStatus.NO_SHOW, holdout=True)
    for start in outside:
        visit(database, world, start, status=BookingStatus.ATTENDED, holdout=True)
    r = report(client, world, f"?from={day}&to={day}")
    held = r["arms"][1]
    assert (held["bookings"], held["no_shows"]) == (2, 2)


def test_the_csv_has_the_report_s_rows(client, world, week):
    answer = api_as(client, world.a, "manager").get("/reports/no-shows.csv?from=2026-03-02&to=2026-03-08")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["section"], r["group"]) for r in rows] == [
        ("arm", "reminded"),
        ("arm", "held_out"),
        ("channel", "sms"),
        ("channel", "voice"),
        ("step", "sms@1440"),
        ("step", "voice@120"),
    ]
    assert rows[0]["mode"] == "holdout" and rows[0]["no_shows"] == "2" and rows[0]["significant"] == "False"


def test_the_report_wants_both_ends_of_the_range_and_a_manager(client, world):
    manager = api_as(client, world.a, "manager")
    assert manager.get("/reports/no-shows?from=2026-03-02").status_code == 422
    assert manager.get("/reports/no-shows?from=2026-03-08&to=2026-03-02").status_code == 422
    assert api_as(client, world.a, "operator").get("/reports/no-shows").status_code == 403
