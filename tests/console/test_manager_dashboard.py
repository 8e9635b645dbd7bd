"""The manager's dashboard: each chart is an SVG of its own with the table's numbers in it, each table is the
API's numbers and downloads as CSV, the surge banner shows when a threshold is crossed, and only the clinic's
own manager gets any of it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from recall.clinic.clinics import Clinic
from recall.clinic.staff import Staff
from recall.queue.attempts import Outcome
from recall.reminders.planning import Channel as Via
from recall.visits.booking import BookingStatus
from recall.visits.booking_outcomes import mark_attended
from tests.api.test_no_show_report import at, visit
from tests.console.helpers import post, text
from tests.factories import actor_of, api_as, make_booking, make_task
from tests.integration import _report_rows as report_rows

pytestmark = pytest.mark.db

CHARTS = ("queue", "kpis", "conversion", "earnings", "staffing")
OFFICE = "/console/office"


@pytest.fixture
def office(database, clock, world):
    """Clinic a with tasks in every age band, an attended booking (earned) and a pending one."""
    a = world.a
    now = clock.now()
    for due, service in ((-2, 0), (-3 * 24, 0), (24, None), (-40 * 24, 1)):
        make_task(
            database,
            clock,
            a.clinic.id,
            a.patients[0].id,
            due_at=now + timedelta(hours=due),
            service_id=a.services[service].id if service is not None else None,
        )
    attended = make_booking(database, clock, a, days=1, hour=9)
    make_booking(database, clock, a, by=actor_of(a.staff["operator2"]), days=5, hour=10)
    clock.advance(timedelta(days=1, hours=2))
    with database.writer() as s:
        mark_attended(s, clock, actor_of(a.staff["frontdesk"]), attended.id)
    return world


def _csv(response):
    assert response.status_code == 200, text(response)
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))


def test_every_chart_is_an_svg_image_with_its_own_csp_and_no_script(console, office):
    manager = console("manager")
    page = manager.get(f"{OFFICE}/")
    assert page.status_code == 200
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # The page draws each chart inline, from the tables it shows, and links the chart's own SVG.
    assert text(page).count('src="data:image/svg+xml;base64,') == len(CHARTS) + 1  # two KPI charts
    for name in CHARTS:
        assert f'href="{OFFICE}/charts/{name}.svg' in text(page)
        chart = manager.get(f"{OFFICE}/charts/{name}.svg")
        assert chart.status_code == 200, name
        assert chart.mimetype == "image/svg+xml"
        body = text(chart)
        assert body.lstrip().startswith("<?xml") and "<svg" in body
        assert "<script" not in body and "kozea.github.io" not in body
        assert chart.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")


def test_queue_health_chart_and_table_hold_the_apis_counts_per_service_and_age_band(client, console, office):
    manager = console("manager")
    health = api_as(client, office.a, "manager").get("/recall-queue/health").get_json()
    rows = _csv(manager.get(f"{OFFICE}/tables/queue.csv"))
    header, body = rows[0], rows[1:]
    assert header[:7] == [
        "Service",
        "Open",
        "Not yet due",
        "Due, under 1 day",
        "1–7 days overdue",
        "7–30 days overdue",
        "Over 30 days overdue",
    ]
    api = {s["service_name"] if s["service_id"] else "No service": s for s in health["services"]}
    assert {r[0] for r in body} == set(api) == {"General check-up", "ENT consultation", "No service"}
    for row in body:
        s = api[row[0]]
        assert [int(v) for v in row[1:7]] == [
            s["open"],
            s["not_yet_due"],
            s["overdue_under_1_day"],
            s["overdue_1_to_7_days"],
            s["overdue_7_to_30_days"],
            s["overdue_over_30_days"],
        ]
    general = next(r for r in body if r[0] == "General check-up")
    assert general[1:7] == ["2", "0", "0", "2", "0", "0"]  # the clock moved 26 hours on since they were due
    svg = text(manager.get(f"{OFFICE}/charts/queue.svg"))
    for label in ("General check-up", "ENT consultation", "No service", "Over 30 days overdue", "Not yet due"):
        assert label in svg
    page = text(manager.get(f"{OFFICE}/"))
    assert 'data-table="queue"' in page and "General check-up" in page


def test_earnings_per_staff_member_match_the_team_earnings_api(client, console, office):
    manager = console("manager")
    team = api_as(client, office.a, "manager").get("/earnings/team").get_json()
    rows = _csv(manager.get(f"{OFFICE}/tables/earnings.csv"))
    assert rows[0][:5] == ["Staff member", "Role", "Earned", "Visits attended", "Pending"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {s["name"] for s in team["staff"]}
    for s in team["staff"]:
        row = by_name[s["name"]]
        assert row[2] == f"{s['earned_cents'] / 100:.2f}" and int(row[3]) == s["earned_count"]
        assert row[4] == f"{s['pending_cents'] / 100:.2f}"
    assert by_name["operator"][2] == "10.00" and by_name["operator2"][4] == "10.00"
    svg = text(manager.get(f"{OFFICE}/charts/earnings.svg"))
    assert "operator2" in svg and "SEK10.00" in svg
    page = text(manager.get(f"{OFFICE}/"))
    assert "SEK10.00" in page


@pytest.mark.parametrize("group", ["day", "week"])
def test_team_kpis_and_conversion_match_the_kpi_api_by_day_or_week(client, console, office, group):
    manager = console("manager")
    api = api_as(client, office.a, "manager").get(f"/recall-queue/kpis?group={group}").get_json()
    rows = _csv(manager.get(f"{OFFICE}/tables/kpis.csv?group={group}"))
    assert rows[0][:6] == ["Period from", "Operator", "Attempts", "Contacts", "Refusals", "Bookings"]
    mine = [(r[0], r[1], int(r[2]), int(r[5])) for r in rows[1:]]
    theirs = [(r["period_start"], r["staff_name"] or "Team", r["attempts"], r["bookings"]) for r in api["rows"]]
    assert mine == theirs
    funnel = _csv(manager.get(f"{OFFICE}/tables/conversion.csv?group={group}"))
    team = [r for r in api["rows"] if r["staff_id"] is None]
    assert [(r[0], int(r[1]), int(r[2]), int(r[4])) for r in funnel[1:]] == [
        (r["period_start"], r["tasks_closed"], r["tasks_won"], r["bookings_attended"]) for r in team
    ]
    assert sum(int(r[4]) for r in funnel[1:]) == 1  # the attended visit
    page = text(manager.get(f"{OFFICE}/?group={group}"))
    assert f'value="{group}" checked' in page
    assert f"{OFFICE}/charts/kpis.svg?metric=bookings&amp;group={group}" in page
    kpis = text(manager.get(f"{OFFICE}/charts/kpis.svg?group={group}&metric=bookings"))
    assert "Bookings per operator" in kpis and "operator" in kpis
    conversion = text(manager.get(f"{OFFICE}/charts/conversion.svg?group={group}"))
    assert "Attended" in conversion and "Tasks closed" in conversion


def test_a_bad_range_is_named_beside_its_field(console, office):
    manager = console("manager")
    page = manager.get(f"{OFFICE}/?from=2026-03-05&to=2026-03-01")
    assert page.status_code == 422
    assert 'id="to-error" role="alert">must be after from' in text(page)
    assert manager.get(f"{OFFICE}/?group=month").status_code == 422


def test_the_staffing_forecast_matches_the_api_and_takes_its_arguments(client, console, office):
    manager = console("manager")
    api = api_as(client, office.a, "manager").get("/recall-queue/staffing?target_days=2").get_json()
    rows = _csv(manager.get(f"{OFFICE}/tables/staffing.csv?target_days=2"))
    figures = {r[1]: r[2] for r in rows[1:]}
    assert int(figures["operators_needed"]) == api["operators_needed"]
    assert float(figures["workload_hours"]) == pytest.approx(api["workload_hours"])
    assert int(figures["due_in_window"]) == api["due_in_window"]
    svg = text(manager.get(f"{OFFICE}/charts/staffing.svg?target_days=2"))
    assert "Operators needed to clear the queue in time" in svg and "Needed" in svg
    bad = manager.get(f"{OFFICE}/?occupancy=7")
    assert bad.status_code == 422 and 'id="occupancy-error" role="alert"' in text(bad)


def test_the_surge_banner_shows_when_a_threshold_is_crossed(database, console, office):
    manager = console("manager")
    assert 'id="surge"' not in text(manager.get(f"{OFFICE}/"))
    with database.writer() as s:
        s.get_one(Clinic, office.a.clinic.id).surge_backlog = 3
        s.commit()
    page = text(manager.get(f"{OFFICE}/"))
    assert 'id="surge"' in page and "3 or more tasks are due" in page


def test_another_clinics_manager_sees_only_their_own_figures(console, office):
    other = console("manager", clinic="b")
    queue = _csv(other.get(f"{OFFICE}/tables/queue.csv"))
    assert queue[1:] == []
    earnings = _csv(other.get(f"{OFFICE}/tables/earnings.csv"))
    assert all(r[2] == "0.00" and r[4] == "0.00" for r in earnings[1:])
    assert "General check-up" not in text(other.get(f"{OFFICE}/charts/queue.svg"))
    assert "Other Clinic" in text(other.get(f"{OFFICE}/"))


@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_only_a_manager_may_open_the_office(console, office, who):
    member = console(who)
    paths = [f"{OFFICE}/", f"{OFFICE}/reminder-policy", f"{OFFICE}/pay-plan", f"{OFFICE}/clinic"]
    paths += [f"{OFFICE}/charts/{name}.svg" for name in CHARTS] + [f"{OFFICE}/tables/{n}.csv" for n in CHARTS]
    paths += [f"{OFFICE}/tables/{n}.csv" for n in ("funnel", "answer_times", "no_shows")]
    paths += [f"{OFFICE}/pay-plan/what-if?from=2026-03-01&to=2026-03-03", f"{OFFICE}/pay-plan/what-if.svg"]
    for path in paths:
        assert member.get(path).status_code == 403, path
    for path in ("reminder-policy", "reminder-policy/preview", "pay-plan", "pay-plan/what-if", "clinic"):
        assert post(member, f"{OFFICE}/{path}", {"name": "x"}).status_code == 403, path


def test_an_unknown_chart_is_a_404(console, office):
    assert console("manager").get(f"{OFFICE}/charts/bogus.svg").status_code == 404
    assert console("manager").get(f"{OFFICE}/tables/bogus.csv").status_code == 404


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ("队列状况", "按服务和时长划分的队列状况")),
        ("ru", ("Состояние очереди", "Состояние очереди по услугам и сроку")),
    ],
)
def test_the_dashboard_and_its_charts_speak_the_managers_language(database, world, console, office, lang, words):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["manager"].id).language = lang
        s.commit()
    manager = console("manager")
    page, chart = words
    assert page in text(manager.get(f"{OFFICE}/"))
    assert chart in text(manager.get(f"{OFFICE}/charts/queue.svg"))


@pytest.mark.parametrize("group", ["day", "week"])
def test_the_funnel_and_time_to_answer_are_the_reports_team_rows_and_download_as_csv(
    client, console, database, clock, office, group
):
    """A task opened yesterday was reached on its first call two hours after it fell due: the dashboard's rows
    are those of GET /reports/funnel and /reports/time-to-answer for the same range, the page shows both."""
    a = office.a
    opened = clock.now() - timedelta(days=1)
    task_id = report_rows.task(database, a, created=opened)
    report_rows.attempt(database, task_id, a.staff["operator"].id, opened + timedelta(hours=2), Outcome.DECLINED)
    manager = console("manager")
    api = api_as(client, a, "manager")
    funnel = api.get(f"/reports/funnel?group={group}").get_json()["rows"]
    rows = _csv(manager.get(f"{OFFICE}/tables/funnel.csv?group={group}"))
    assert rows[0][:5] == ["Period from", "Tasks opened", "Reached", "Booked", "Attended"]
    totals = [r for r in funnel if r["total"]]
    assert [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows[1:]] == [
        (r["period_start"], r["opened"], r["contacted"], r["booked"]) for r in totals
    ]
    assert sum(int(r[2]) for r in rows[1:]) == 1  # the reached patient
    waits = api.get(f"/reports/time-to-answer?group={group}").get_json()["rows"]
    rows = _csv(manager.get(f"{OFFICE}/tables/answer_times.csv?group={group}"))
    team = [r for r in waits if r["staff_id"] is None]
    assert [(r[0], int(r[1]), r[2]) for r in rows[1:]] == [
        (r["period_start"], r["winback_tasks"], "" if r["winback_wait_median"] is None else
         str(r["winback_wait_median"])) for r in team
    ]  # fmt: skip
    assert sum(int(r[1]) for r in rows[1:]) == 1 and "7200.0" in [r[2] for r in rows[1:]]  # two hours from due
    page = text(manager.get(f"{OFFICE}/?group={group}"))
    assert "Recall funnel" in page and "Time to answer" in page
    assert f"{OFFICE}/tables/funnel.csv?group={group}" in page
    assert f"{OFFICE}/tables/answer_times.csv?group={group}" in page


WEEK = "from=2026-03-02&to=2026-03-08"  # Stockholm's days of the visits ``at`` gives


@pytest.fixture
def no_show_week(database, world):
    """Reminded arm: 4 attended (2 of them also got the voice call), 2 no-shows, 1 cancelled, all sent the SMS.
    Held out: 1 attended, 3 no-shows. Planned before the holdout: 1 attended. Out of range: a no-show on 9 March."""
    sent = [(Via.SMS, Via.VOICE)] * 2 + [(Via.SMS,)] * 2
    for i, status in enumerate([BookingStatus.ATTENDED] * 4 + [BookingStatus.NO_SHOW] * 2 + [BookingStatus.CANCELLED]):
        visit(database, world, at(i), status=status, holdout=False, sent=sent[i] if i < 4 else (Via.SMS,))
    for i, status in enumerate([BookingStatus.ATTENDED] + [BookingStatus.NO_SHOW] * 3, start=7):
        visit(database, world, at(i), status=status, holdout=True)
    visit(database, world, at(11), status=BookingStatus.ATTENDED, sent=(Via.SMS,))
    visit(database, world, at(0) + timedelta(days=7), status=BookingStatus.NO_SHOW, holdout=True)
    return world


def test_the_no_show_card_and_its_csv_are_the_reports_rows_and_the_hand_counts(client, console, no_show_week):
    api = api_as(client, no_show_week.a, "manager").get(f"/reports/no-shows?{WEEK}").get_json()
    manager = console("manager")
    rows = _csv(manager.get(f"{OFFICE}/tables/no_shows.csv?{WEEK}"))
    assert rows[0][:8] == ["Breakdown", "Group", "Name in the API", "Bookings with an outcome", "Attended",
                           "No-shows", "Cancelled", "No-show rate"]  # fmt: skip
    mine = {r[2]: r for r in rows[1:]}
    groups = [*api["arms"], *api["channels"], *api["steps"]]
    assert [r[2] for r in rows[1:]] == [g["group"] for g in groups]
    for g in groups:
        row = mine[g["group"]]
        assert [int(v) for v in row[3:7]] == [g["bookings"], g["attended"], g["no_shows"], g["cancelled"]]
        for value, key in zip(row[7:12], ("no_show_rate", "ci_low", "ci_high", "difference", "p_value"), strict=True):
            assert (None if value == "" else float(value)) == pytest.approx(g[key]), (g["group"], key)
        assert row[12] == {None: "", True: "Yes", False: "No"}[g["significant"]]
    # By hand: reminded 2 no-shows of 6 (and 1 cancelled), held out 3 of 4; pooled 5/10, z = -1.291, p = 0.197.
    assert [r[3:7] for r in rows[1:3]] == [["6", "4", "2", "1"], ["4", "1", "3", "0"]]
    assert [r[1] for r in rows[1:]] == ["Reminded", "Held out", "SMS", "Automated voice call",
                                        "SMS, 1 day before", "Automated voice call, 2 hours before"]  # fmt: skip
    assert float(rows[1][7]) == pytest.approx(1 / 3) and float(rows[2][7]) == 0.75
    assert float(rows[1][11]) == pytest.approx(0.1967, abs=1e-4) and rows[1][12] == "No"
    assert (api["mode"], api["outside_holdout"], mine["voice"][3:6]) == ("holdout", 1, ["2", "2", "0"])
    page = text(manager.get(f"{OFFICE}/?{WEEK}"))
    assert 'id="no-shows"' in page and 'data-table="no_shows"' in page
    assert f"{OFFICE}/tables/no_shows.csv?from=2026-03-02&amp;to=2026-03-08" in page
    assert "No-show rate of the reminded bookings: 33.3 % (95% interval 9.7 % to 70.0 %, n = 6)" in page
    assert "of the held-out ones: 75.0 % (95% interval 30.1 % to 95.4 %, n = 4)" in page
    assert "The difference of -41.7 percentage points is not significant yet" in page and "p = 0.197" in page
    assert "so the comparison of the arms is causal" in page and "1 booking planned while no holdout" in page
    assert api["statement"] == (  # the API's English sentence, from the same facts
        "No-show rate reminded 33.3 % (95 % CI 9.7-70.0 %, n = 6) against held_out 75.0 % (95 % CI 30.1-95.4 %, "
        "n = 4): the difference of -41.7 points is not significant yet (two-proportion z-test, p = 0.197)."
    )


def test_the_no_show_statement_and_card_speak_the_managers_language(database, console, no_show_week):
    with database.writer() as s:
        s.get_one(Staff, no_show_week.a.staff["manager"].id).language = "pl"
        s.commit()
    manager = console("manager")
    page = text(manager.get(f"{OFFICE}/?{WEEK}"))
    assert "Nieobecności z przypomnieniami i bez nich" in page
    assert "Odsetek nieobecności wśród rezerwacji z przypomnieniem: 33,3 % (przedział 95% od 9,7 % do 70,0 %" in page
    assert "Różnica -41,7 pkt proc. nie jest jeszcze istotna" in page and "p = 0,197" in page
    assert "No-show rate of the reminded" not in page and "not significant" not in page
    rows = _csv(manager.get(f"{OFFICE}/tables/no_shows.csv?{WEEK}"))
    assert rows[0][7] == "Odsetek nieobecności" and rows[2][1] == "Wyłączone" and rows[1][12] == "Nie"


def test_without_a_holdout_the_no_show_card_compares_reminded_with_not_reminded_and_is_not_causal(
    database, console, world
):
    for i, status in enumerate([BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.NO_SHOW]):
        visit(database, world, at(i), status=status, sent=(Via.SMS,) if i < 2 else ())
    manager = console("manager")
    rows = _csv(manager.get(f"{OFFICE}/tables/no_shows.csv?{WEEK}"))
    assert [(r[1], r[2], r[3], r[5]) for r in rows[1:3]] == [("Reminded", "reminded", "2", "1"),
                                                            ("Not reminded", "not_reminded", "1", "1")]  # fmt: skip
    page = text(manager.get(f"{OFFICE}/?{WEEK}"))
    assert "of those not reminded: 100.0 %" in page and "This comparison is not causal" in page
    assert f'href="{OFFICE}/clinic#holdout"' in page


def test_an_empty_range_shows_the_no_show_cards_empty_state(console, no_show_week):
    manager = console("manager")
    page = manager.get(f"{OFFICE}/?from=2026-04-01&to=2026-04-07")
    assert page.status_code == 200
    assert 'id="no-shows-empty"' in text(page) and "there is nothing to compare" in text(page)
    assert _csv(manager.get(f"{OFFICE}/tables/no_shows.csv?from=2026-04-01&to=2026-04-07"))[1:] == []
    other = console("manager", clinic="b")  # and another clinic's manager sees none of clinic a's bookings
    assert _csv(other.get(f"{OFFICE}/tables/no_shows.csv?{WEEK}"))[1:] == []
