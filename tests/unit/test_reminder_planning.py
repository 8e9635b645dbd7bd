"""The pure reminder planner: offsets, calling hours in the patient's zone, DST, confirmation, overrides, surge.

Every instant is built from a wall time in a named zone (``at``), so each test
reads like the calendar a clinic manager looks at. 2026-03-02 is a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recall.reminders.planning import (
    DEFAULT_POLICY,
    Channel,
    Fallback,
    Hours,
    OnMachine,
    Override,
    PlannedStep,
    PolicyDoc,
    Sender,
    Step,
    earliest_allowed,
    makes_sense,
    plan_steps,
)

UTC = UTC
STOCKHOLM, NEW_YORK, AUCKLAND = "Europe/Stockholm", "America/New_York", "Pacific/Auckland"
FAR_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)


def at(zone: str, *wall: int, fold: int = 0) -> datetime:
    """The UTC instant when the wall clock in ``zone`` reads ``wall`` (fold=1: the second time it does)."""
    return datetime(*wall, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)  # type: ignore[misc]


def wall(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %z")


DEFAULT_HOURS = Hours()  # the policy's default hours, built once (a frozen value)


def policy(*steps: Step, hours: Hours = DEFAULT_HOURS, overrides: tuple[Override, ...] = ()) -> PolicyDoc:
    return PolicyDoc(steps=steps, hours=hours, overrides=overrides)


def plan(
    doc: PolicyDoc, start_at: datetime, *, now: datetime = FAR_BEFORE, zone: str = STOCKHOLM, **kw: object
) -> list[PlannedStep]:
    return plan_steps(doc, start_at=start_at, now=now, zone=zone, **kw)  # type: ignore[arg-type]


def sms(hours: float, **kw: object) -> Step:
    return Step(int(hours * 60), Channel.SMS, **kw)  # type: ignore[arg-type]


# --- offsets and calling hours --------------------------------------------------------------------------------------


def test_each_step_of_the_default_policy_goes_out_its_offset_before_the_visit():
    visit = at(STOCKHOLM, 2026, 3, 4, 14, 0)  # Wednesday
    steps = plan(DEFAULT_POLICY, visit)
    assert [(s.channel, wall(s.send_at, STOCKHOLM), s.moved, s.skipped_reason) for s in steps] == [
        (Channel.SMS, "Tue 2026-03-03 14:00 +0100", False, None),
        (Channel.VOICE, "Wed 2026-03-04 12:00 +0100", False, None),
    ]
    assert [s.fallback for s in steps] == [Fallback.NONE, Fallback.SMS]


def test_a_step_after_the_calling_hours_moves_to_one_minute_before_they_end_that_day():
    [step] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 5, 21, 0))
    assert wall(step.send_at, STOCKHOLM) == "Wed 2026-03-04 19:59 +0100"
    assert step.moved and step.skipped_reason is None


def test_the_end_of_the_calling_hours_is_already_outside_them():
    [step] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 5, 20, 0))
    assert wall(step.send_at, STOCKHOLM) == "Wed 2026-03-04 19:59 +0100"
    [inside] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 5, 19, 59))
    assert wall(inside.send_at, STOCKHOLM) == "Wed 2026-03-04 19:59 +0100" and not inside.moved


def test_a_step_before_the_calling_hours_moves_to_the_evening_before():
    [step] = plan(policy(Step(120, Channel.VOICE)), at(STOCKHOLM, 2026, 3, 5, 8, 30))
    assert wall(step.send_at, STOCKHOLM) == "Wed 2026-03-04 19:59 +0100" and step.moved


def test_a_step_whose_moved_moment_has_passed_is_skipped_even_though_its_offset_has_not():
    visit = at(STOCKHOLM, 2026, 3, 5, 8, 30)
    [step] = plan(policy(Step(120, Channel.VOICE)), visit, now=at(STOCKHOLM, 2026, 3, 4, 21, 0))
    assert step.skipped_reason == "too_late"
    assert wall(step.send_at, STOCKHOLM) == "Wed 2026-03-04 19:59 +0100"


def test_a_booking_made_30_minutes_ahead_gets_only_the_steps_that_still_make_sense():
    doc = policy(sms(24), Step(120, Channel.VOICE), Step(15, Channel.SMS))
    visit = at(STOCKHOLM, 2026, 3, 5, 14, 0)
    steps = plan(doc, visit, now=visit - timedelta(minutes=30))
    assert [(s.offset_minutes, s.skipped_reason) for s in steps] == [(1440, "too_late"), (120, "too_late"), (15, None)]
    assert steps[2].send_at == visit - timedelta(minutes=15)


def test_a_step_due_exactly_now_still_runs_and_one_a_second_ago_does_not():
    visit = at(STOCKHOLM, 2026, 3, 5, 14, 0)
    due = visit - timedelta(hours=2)
    assert plan(policy(Step(120, Channel.VOICE)), visit, now=due)[0].skipped_reason is None
    assert plan(policy(Step(120, Channel.VOICE)), visit, now=due + timedelta(seconds=1))[0].skipped_reason == "too_late"


def test_a_visit_that_already_started_gets_nothing():
    visit = at(STOCKHOLM, 2026, 3, 5, 14, 0)
    assert {s.skipped_reason for s in plan(DEFAULT_POLICY, visit, now=visit + timedelta(minutes=1))} == {"too_late"}


def test_weekend_hours_apply_on_a_local_saturday_and_sunday():
    # Monday 09:30 minus 24 h is Sunday 09:30, before the weekend's 10:00: Saturday 15:59.
    [monday] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 9, 9, 30))
    assert wall(monday.send_at, STOCKHOLM) == "Sat 2026-03-07 15:59 +0100"
    # Saturday 18:00 minus 2 h is 16:00, the weekend's end: 15:59.
    [saturday] = plan(policy(Step(120, Channel.VOICE)), at(STOCKHOLM, 2026, 3, 7, 18, 0))
    assert wall(saturday.send_at, STOCKHOLM) == "Sat 2026-03-07 15:59 +0100"


def test_the_weekend_is_the_patients_local_weekend_not_utcs():
    # Saturday 09:30 in Auckland is still Friday 20:30 UTC; Auckland's weekend opens at 10:00.
    [step] = plan(policy(Step(120, Channel.VOICE)), at(AUCKLAND, 2026, 3, 7, 11, 30), zone=AUCKLAND)
    assert wall(step.send_at, AUCKLAND) == "Fri 2026-03-06 19:59 +1300"


def test_steps_keep_the_policys_order_and_two_may_land_on_the_same_minute():
    visit = at(STOCKHOLM, 2026, 3, 5, 8, 0)
    steps = plan(policy(Step(13 * 60, Channel.SMS), Step(12 * 60, Channel.VOICE), Step(11 * 60, Channel.SMS)), visit)
    assert [s.step_index for s in steps] == [0, 1, 2]
    assert [wall(s.send_at, STOCKHOLM)[4:-6] for s in steps] == [
        "2026-03-04 19:00",
        "2026-03-04 19:59",
        "2026-03-04 19:59",
    ]


def test_planning_refuses_naive_instants():
    with pytest.raises(ValueError, match="start_at"):
        plan(DEFAULT_POLICY, datetime(2026, 3, 5, 14, 0))
    with pytest.raises(ValueError, match="now"):
        plan(DEFAULT_POLICY, at(STOCKHOLM, 2026, 3, 5, 14, 0), now=datetime(2026, 3, 1))


# --- DST --------------------------------------------------------------------------------------------------------------


def test_an_offset_is_elapsed_time_across_the_spring_change_in_stockholm():
    # 24 real hours before Sunday 29 March 12:00 CEST is Saturday 11:00 CET on the wall clock.
    [step] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 29, 12, 0))
    assert step.send_at == datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    assert wall(step.send_at, STOCKHOLM) == "Sat 2026-03-28 11:00 +0100" and not step.moved


def test_a_step_moved_back_over_the_spring_change_lands_in_winter_time():
    # Monday 30 March 08:00 CEST - 24 h = Sunday 08:00 CEST, before the weekend's 10:00: Saturday 15:59 CET.
    [step] = plan(policy(sms(24)), at(STOCKHOLM, 2026, 3, 30, 8, 0))
    assert step.send_at == datetime(2026, 3, 28, 14, 59, tzinfo=UTC)


def test_hours_ending_in_the_hour_stockholms_spring_change_skips_end_at_the_jump():
    # Weekend hours 01:00-02:30; on 29 March the clock jumps from 02:00 to 03:00, so 01:59 is the last minute.
    doc = policy(sms(3), hours=Hours(weekend_start=60, weekend_end=150))
    [step] = plan(doc, at(STOCKHOLM, 2026, 3, 29, 8, 0))  # the step falls at 05:00 CEST
    assert step.send_at == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert wall(step.send_at, STOCKHOLM) == "Sun 2026-03-29 01:59 +0100"


def test_hours_opening_in_the_skipped_hour_open_at_the_jump():
    doc = policy(sms(1), hours=Hours(weekend_start=150, weekend_end=600))
    [step] = plan(doc, at(STOCKHOLM, 2026, 3, 29, 4, 15))  # the step falls at 03:15 CEST, after 02:30 on the wall
    assert wall(step.send_at, STOCKHOLM) == "Sun 2026-03-29 03:15 +0200" and not step.moved


def test_a_day_whose_hours_fall_wholly_in_the_skipped_hour_has_no_calling_time():
    doc = policy(sms(1), hours=Hours(weekend_start=130, weekend_end=170))  # 02:10-02:50
    [step] = plan(doc, at(STOCKHOLM, 2026, 3, 29, 6, 0))
    assert wall(step.send_at, STOCKHOLM) == "Sat 2026-03-28 02:49 +0100"


def test_an_offset_is_elapsed_time_across_the_autumn_change_in_stockholm():
    # 48 real hours before Monday 26 October 12:00 CET is Saturday 13:00 CEST on the wall clock.
    [step] = plan(policy(sms(48)), at(STOCKHOLM, 2026, 10, 26, 12, 0))
    assert wall(step.send_at, STOCKHOLM) == "Sat 2026-10-24 13:00 +0200"


def test_hours_ending_in_the_hour_stockholms_autumn_change_repeats_close_twice():
    # Weekend hours 00:00-02:30 on 25 October: 02:00-02:59 happens in CEST, then again in CET.
    doc = policy(sms(1), hours=Hours(weekend_start=0, weekend_end=150))
    [second] = plan(doc, at(STOCKHOLM, 2026, 10, 25, 3, 45, fold=1))  # the step falls at 02:45 CET
    assert wall(second.send_at, STOCKHOLM) == "Sun 2026-10-25 02:29 +0100"
    [first] = plan(doc, at(STOCKHOLM, 2026, 10, 25, 2, 45, fold=1))  # 02:45 CET - 1 h = 02:45 CEST
    assert wall(first.send_at, STOCKHOLM) == "Sun 2026-10-25 02:29 +0200"


def test_a_step_moved_back_over_new_yorks_spring_change_lands_in_standard_time():
    # Monday 9 March 09:00 EDT - 24 h = Sunday 09:00 EDT, before the weekend's 10:00: Saturday 15:59 EST.
    [step] = plan(policy(sms(24)), at(NEW_YORK, 2026, 3, 9, 9, 0), zone=NEW_YORK)
    assert step.send_at == datetime(2026, 3, 7, 20, 59, tzinfo=UTC)
    # Sunday 8 March 14:00 EDT - 24 h is Saturday 13:00 EST on the wall clock.
    [sunday] = plan(policy(sms(24)), at(NEW_YORK, 2026, 3, 8, 14, 0), zone=NEW_YORK)
    assert wall(sunday.send_at, NEW_YORK) == "Sat 2026-03-07 13:00 -0500"


def test_a_step_moved_back_over_new_yorks_autumn_change_lands_in_daylight_time():
    # Sunday 1 November 11:00 EST - 2 h = 09:00 EST, before 10:00: Saturday 15:59 EDT.
    [step] = plan(policy(Step(120, Channel.VOICE)), at(NEW_YORK, 2026, 11, 1, 11, 0), zone=NEW_YORK)
    assert step.send_at == datetime(2026, 10, 31, 19, 59, tzinfo=UTC)


def test_hours_ending_in_new_yorks_repeated_hour_close_at_the_second_pass_when_the_step_is_after_it():
    doc = policy(sms(1), hours=Hours(weekend_start=0, weekend_end=90))  # 00:00-01:30
    [step] = plan(doc, at(NEW_YORK, 2026, 11, 1, 2, 45), zone=NEW_YORK)  # the step falls at 01:45 EST
    assert step.send_at == datetime(2026, 11, 1, 6, 29, tzinfo=UTC)
    assert wall(step.send_at, NEW_YORK) == "Sun 2026-11-01 01:29 -0500"


# --- confirmation, overrides, surge -----------------------------------------------------------------------------------


def test_a_confirmed_visit_skips_the_steps_that_do_not_run_if_confirmed():
    doc = policy(sms(24, run_if_confirmed=True), Step(120, Channel.VOICE))
    steps = plan(doc, at(STOCKHOLM, 2026, 3, 5, 14, 0), confirmed=True)
    assert [s.skipped_reason for s in steps] == [None, "confirmed"]
    assert [s.skipped_reason for s in plan(doc, at(STOCKHOLM, 2026, 3, 5, 14, 0))] == [None, None]


def test_a_provider_override_beats_a_service_override_which_beats_the_clinics_steps():
    doc = policy(
        sms(24),
        overrides=(
            Override((Step(180, Channel.VOICE),), service_id=7),
            Override((Step(48 * 60, Channel.OPERATOR_CALL),), provider_id=3),
        ),
    )
    visit = at(STOCKHOLM, 2026, 3, 11, 14, 0)

    def channels(**kw: object) -> list[Channel]:
        return [s.channel for s in plan(doc, visit, **kw)]

    assert channels(service_id=7, provider_id=3) == [Channel.OPERATOR_CALL]
    assert channels(service_id=7, provider_id=4) == [Channel.VOICE]
    assert channels(service_id=8, provider_id=4) == [Channel.SMS]
    assert channels() == [Channel.SMS]


def test_an_override_with_no_steps_sends_no_reminders_for_that_service():
    doc = policy(sms(24), overrides=(Override((), service_id=7),))
    assert plan(doc, at(STOCKHOLM, 2026, 3, 11, 14, 0), service_id=7) == []


def test_in_a_surge_routine_human_calls_become_voice_calls_and_the_rest_stay():
    doc = policy(
        Step(48 * 60, Channel.OPERATOR_CALL, fallback=Fallback.SMS),
        Step(24 * 60, Channel.FRONTDESK_CALL, routine=False),
        Step(120, Channel.SMS, fallback=Fallback.OPERATOR_CALL),
    )
    visit = at(STOCKHOLM, 2026, 3, 11, 14, 0)
    calm = plan(doc, visit)
    surge = plan(doc, visit, surge=True)
    assert [(s.channel, s.fallback) for s in calm] == [
        (Channel.OPERATOR_CALL, Fallback.SMS),
        (Channel.FRONTDESK_CALL, Fallback.NONE),
        (Channel.SMS, Fallback.OPERATOR_CALL),
    ]
    assert [(s.channel, s.fallback) for s in surge] == [
        (Channel.VOICE, Fallback.SMS),
        (Channel.FRONTDESK_CALL, Fallback.NONE),
        (Channel.SMS, Fallback.VOICE),
    ]
    assert [s.send_at for s in surge] == [s.send_at for s in calm]
    assert [s.automated_from for s in surge] == [Channel.OPERATOR_CALL, None, None], "the moved one says so"
    assert [s.automated_from for s in calm] == [None, None, None]


def test_in_a_surge_a_fallback_never_repeats_the_automated_channel():
    doc = policy(
        Step(180, Channel.OPERATOR_CALL, fallback=Fallback.VOICE),
        Step(120, Channel.VOICE, fallback=Fallback.OPERATOR_CALL),
    )
    steps = plan(doc, at(STOCKHOLM, 2026, 3, 11, 14, 0), surge=True)
    assert [(s.channel, s.fallback) for s in steps] == [(Channel.VOICE, Fallback.SMS), (Channel.VOICE, Fallback.SMS)]


# --- the next opening, for a reminder found outside the hours when it is about to leave ----------------------------


def opening(zone: str, *wall_time: int, hours: Hours = DEFAULT_HOURS, fold: int = 0) -> str:
    found = earliest_allowed(at(zone, *wall_time, fold=fold), ZoneInfo(zone), hours)
    assert found is not None
    return wall(found, zone)


def test_inside_the_hours_the_next_allowed_moment_is_now():
    assert opening(STOCKHOLM, 2026, 3, 2, 12, 0) == "Mon 2026-03-02 12:00 +0100"


def test_after_the_hours_the_next_allowed_moment_is_when_they_open_next_and_the_end_is_outside():
    assert opening(STOCKHOLM, 2026, 3, 2, 20, 0) == "Tue 2026-03-03 09:00 +0100"
    assert opening(STOCKHOLM, 2026, 3, 3, 5, 0) == "Tue 2026-03-03 09:00 +0100"
    assert opening(STOCKHOLM, 2026, 3, 6, 23, 30) == "Sat 2026-03-07 10:00 +0100", "Saturday keeps weekend hours"
    assert opening(STOCKHOLM, 2026, 3, 8, 16, 0) == "Mon 2026-03-09 09:00 +0100"


def test_the_next_opening_is_on_the_wall_clock_across_both_dst_changes_in_both_zones():
    assert opening(STOCKHOLM, 2026, 3, 28, 16, 30) == "Sun 2026-03-29 10:00 +0200"
    assert opening(STOCKHOLM, 2026, 10, 24, 16, 30) == "Sun 2026-10-25 10:00 +0100"
    assert opening(NEW_YORK, 2026, 3, 7, 16, 30) == "Sun 2026-03-08 10:00 -0400"
    assert opening(NEW_YORK, 2026, 10, 31, 16, 30) == "Sun 2026-11-01 10:00 -0500"


def test_hours_opening_in_the_skipped_hour_open_when_the_clock_jumps():
    hours = Hours(weekend_start=150, weekend_end=600)  # 02:30, which 29 March in Stockholm never shows
    assert opening(STOCKHOLM, 2026, 3, 29, 1, 0, hours=hours) == "Sun 2026-03-29 03:00 +0200"


def test_hours_opening_in_the_repeated_hour_open_at_its_first_pass_after_now():
    hours = Hours(weekend_start=150, weekend_end=600)  # 02:30 happens twice on 25 October in Stockholm
    assert opening(STOCKHOLM, 2026, 10, 25, 1, 0, hours=hours) == "Sun 2026-10-25 02:30 +0200"
    assert opening(STOCKHOLM, 2026, 10, 25, 2, 0, fold=1, hours=hours) == "Sun 2026-10-25 02:30 +0100"


def test_a_reminder_makes_sense_only_while_it_leaves_the_shortest_step_before_the_visit():
    visit = at(STOCKHOLM, 2026, 3, 5, 9, 3)
    assert makes_sense(visit - timedelta(minutes=5), visit)
    assert not makes_sense(visit - timedelta(minutes=3), visit)
    assert not makes_sense(visit, visit)


# --- the document -----------------------------------------------------------------------------------------------------


def test_a_policy_document_survives_the_trip_to_json_and_back():
    doc = PolicyDoc(
        steps=(
            Step(2880, Channel.OPERATOR_CALL, True, False, Fallback.SMS),
            Step(120, Channel.VOICE, on_machine=OnMachine.VOICEMAIL),
        ),
        overrides=(Override((Step(60, Channel.SMS),), service_id=5), Override((), provider_id=9)),
        hours=Hours(8 * 60, 21 * 60, 11 * 60, 14 * 60),
        templates={"sms": {"pl": "Wizyta {date} {time}"}},
        show_provider=True,
        sender=Sender("+46850000000", "MG" + "a" * 32),
        sms_per_second=2.5,
        calls_per_second=0.5,
    )
    assert PolicyDoc.from_json(doc.to_json()) == doc
    stored_before_on_machine = {k: v for k, v in doc.to_json()["steps"][0].items() if k != "on_machine"}
    assert (
        PolicyDoc.from_json({**doc.to_json(), "steps": [stored_before_on_machine]}).steps[0].on_machine
        is OnMachine.FALLBACK
    ), "a version saved before the setting existed falls back on a machine, as it did"
    assert doc.to_json()["hours"] == {
        "weekday_start": "08:00",
        "weekday_end": "21:00",
        "weekend_start": "11:00",
        "weekend_end": "14:00",
    }


def test_a_language_without_its_own_text_uses_the_built_in_one():
    doc = PolicyDoc(steps=(), templates={"sms": {"pl": "Wizyta {date} {time}"}})
    assert doc.template("sms", "pl") == "Wizyta {date} {time}"
    assert doc.template("sms", "sv").startswith("Påminnelse")
    assert doc.template("voice", "zh").startswith("您好")
