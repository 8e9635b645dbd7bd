"""The queue statistics over HTTP: managers only, the answer's shape, and a 422 naming the field for bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from recall.clinic.clinics import get_clinic
from recall.common.db import Database
from recall.queue.tasks import TaskReason, open_task
from tests.api.checks import assert_error, assert_rejected
from tests.factories import Api, World, api_as

PATHS = ("/recall-queue/health", "/recall-queue/kpis", "/recall-queue/staffing")


@pytest.fixture
def manager(client: Any, world: World) -> Api:
    return api_as(client, world.a, "manager")


def _open_tasks(database: Database, world: World, *dues: timedelta) -> None:
    with database.writer() as s:
        clinic = get_clinic(s, world.a.clinic.id)
        now = world.clock.now()
        for k, due in enumerate(dues):
            open_task(
                s,
                clinic=clinic,
                patient_id=world.a.patients[0].id,
                reason=TaskReason.UNDECIDED,
                due_at=now + due,
                now=now,
                follow_up_date=None,
                service_id=world.a.services[0].id if k % 2 else None,
                provider_id=None,
            )
        s.commit()


def test_a_manager_sees_the_queue_health_in_total_and_per_service(database, world, manager):
    _open_tasks(database, world, timedelta(hours=-2), timedelta(days=-3), timedelta(days=1))
    response = manager.get("/recall-queue/health")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body.keys() == {"now", "unreachable_since", "totals", "services", "surge"}
    assert body["totals"] == {
        "open": 3,
        "not_yet_due": 1,
        "due_now": 2,
        "overdue_under_1_day": 1,
        "overdue_1_to_7_days": 1,
        "overdue_7_to_30_days": 0,
        "overdue_over_30_days": 0,
        "leased": 0,
        "callbacks": 0,
        "parked": 0,
        "unreachable": 0,
    }
    assert [(s["service_id"], s["service_name"], s["open"]) for s in body["services"]] == [
        (world.a.services[0].id, "General check-up", 1),
        (None, "none", 2),
    ]
    assert body["surge"] == {"active": False, "reasons": []}


def test_a_manager_gets_kpi_rows_by_day_or_week_for_days_or_instants(world, manager):
    default = manager.get("/recall-queue/kpis")
    assert default.status_code == 200, default.get_json()
    body = default.get_json()
    assert (body["group"], body["timezone"], body["from"], body["to"]) == (
        "day",
        "Europe/Stockholm",
        "2026-02-23T23:00:00+00:00",
        "2026-03-02T23:00:00+00:00",
    )
    assert [r["period_start"] for r in body["rows"]] == [f"2026-02-{d}" for d in (24, 25, 26, 27, 28)] + [
        "2026-03-01",
        "2026-03-02",
    ]
    row = body["rows"][0]
    assert (row["staff_id"], row["attempts"], row["attempts_per_hour"], row["realized_rate"]) == (None, 0, None, None)

    weeks = manager.get("/recall-queue/kpis?from=2026-03-01&to=2026-03-15&group=week").get_json()
    assert [(r["period_start"], r["period_end"]) for r in weeks["rows"]] == [
        ("2026-02-23", "2026-03-01"),
        ("2026-03-02", "2026-03-08"),
        ("2026-03-09", "2026-03-15"),
    ]
    instants = manager.get(
        "/recall-queue/kpis?from=2026-03-02T06:00:00%2B01:00&to=2026-03-02T18:00:00Z"
        f"&staff_id={world.a.staff['operator'].id}"
    )
    assert instants.status_code == 200, instants.get_json()
    assert (instants.json["from"], [r["period_start"] for r in instants.json["rows"]]) == (
        "2026-03-02T05:00:00+00:00",
        ["2026-03-02"],
    )


def test_a_manager_gets_a_staffing_forecast_with_the_inputs_it_used(database, world, manager):
    _open_tasks(database, world, timedelta(0), timedelta(0), timedelta(days=1))
    response = manager.get("/recall-queue/staffing")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["target_days"], body["hours_per_day"], body["occupancy"], body["lookback_days"]) == (5, 7.0, 0.85, 28)
    assert (body["due_now"], body["due_in_window"], body["operators_active"]) == (2, 1, 0)
    assert body["defaults_used"] == ["attempts_per_task", "handle_seconds", "wrap_up_seconds"]
    # 3 tasks (none created before now in the lookback) x 3 attempts x 300 s = 2700 s: one operator.
    assert (body["total_attempts"], body["operators_needed"]) == (9.0, 1)
    custom = manager.get("/recall-queue/staffing?target_days=1&hours_per_day=1&occupancy=0.1&lookback_days=7")
    assert (custom.status_code, custom.json["operators_needed"], custom.json["lookback_days"]) == (200, 8, 7)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_operators_and_the_front_desk_may_not_see_queue_statistics(client, world, path, who):
    assert_error(api_as(client, world.a, who).get(path), 403, "forbidden")


@pytest.mark.parametrize("path", PATHS)
def test_queue_statistics_need_a_token(client, world, path):
    assert_error(Api(client, None).get(path), 401, "unauthenticated")


BAD_QUERIES = [
    ("/recall-queue/kpis?from=2026-03-05&to=2026-03-01", "to"),
    ("/recall-queue/kpis?from=2026-03-02T10:00:00Z&to=2026-03-02T10:00:00Z", "to"),
    ("/recall-queue/kpis?from=2025-03-01&to=2026-03-02", "to"),  # 367 days
    ("/recall-queue/kpis?from=2026-03-01", "to"),
    ("/recall-queue/kpis?to=2026-03-01", "from"),
    ("/recall-queue/kpis?from=yesterday&to=2026-03-01", "from"),
    ("/recall-queue/kpis?from=2026-03-01T10:00:00&to=2026-03-02", "from"),
    ("/recall-queue/kpis?from=2026-02-30&to=2026-03-02", "from"),
    ("/recall-queue/kpis?from=2026-03-01&to=9999-12-31", "to"),
    ("/recall-queue/kpis?from=2026-03-01&to=%00", "to"),
    ("/recall-queue/kpis?group=month", "group"),
    ("/recall-queue/kpis?staff_id=abc", "staff_id"),
    ("/recall-queue/kpis?staff_id=0", "staff_id"),
    ("/recall-queue/kpis?staff_id=2147483648", "staff_id"),
    ("/recall-queue/kpis?staff_id=999999", "staff_id"),
    ("/recall-queue/staffing?target_days=0", "target_days"),
    ("/recall-queue/staffing?target_days=91", "target_days"),
    ("/recall-queue/staffing?target_days=2.5", "target_days"),
    ("/recall-queue/staffing?target_days=99999999999999999999", "target_days"),
    ("/recall-queue/staffing?hours_per_day=0.5", "hours_per_day"),
    ("/recall-queue/staffing?hours_per_day=25", "hours_per_day"),
    ("/recall-queue/staffing?hours_per_day=nan", "hours_per_day"),
    ("/recall-queue/staffing?hours_per_day=inf", "hours_per_day"),
    ("/recall-queue/staffing?occupancy=0", "occupancy"),
    ("/recall-queue/staffing?occupancy=1.01", "occupancy"),
    ("/recall-queue/staffing?occupancy=-1", "occupancy"),
    ("/recall-queue/staffing?occupancy=1e999", "occupancy"),
    ("/recall-queue/staffing?lookback_days=0", "lookback_days"),
    ("/recall-queue/staffing?lookback_days=366", "lookback_days"),
]


@pytest.mark.parametrize("query,field", BAD_QUERIES, ids=[q.split("/")[-1] for q, _ in BAD_QUERIES])
def test_a_bad_query_is_a_422_naming_the_field(manager, query, field):
    assert_rejected(manager.get(query), field)


def test_a_staff_id_of_another_clinic_is_a_422_like_an_unknown_one(world, manager):
    other = world.b.staff["operator"].id
    body = assert_rejected(manager.get(f"/recall-queue/kpis?staff_id={other}"), "staff_id")
    assert str(other) in body["fields"]["staff_id"][0]


def test_the_edges_of_the_calendar_answer_without_a_crash(manager):
    for query in (
        "from=1970-01-01&to=1970-01-01",
        "from=2200-12-31&to=2200-12-31",
        "from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00%2B14:00",
        "from=2026-03-29&to=2026-03-29",
        "from=2025-03-01&to=2026-03-01",
    ):  # the last: 366 days, the most a range may span
        response = manager.get(f"/recall-queue/kpis?{query}&group=week")
        assert response.status_code == 200, (query, response.get_json())


def test_the_openapi_document_describes_the_three_endpoints_and_their_arguments(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in PATHS:
        assert f"/api/v1{path}" in spec["paths"], path
    kpi_args = {p["name"] for p in spec["paths"]["/api/v1/recall-queue/kpis"]["get"]["parameters"]}
    assert kpi_args == {"from", "to", "group", "staff_id"}
