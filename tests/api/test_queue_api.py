"""The recall queue through the HTTP API: an operator's day, and every refusal naming its field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from recall.queue.tasks import TaskReason
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.factories import api_as, iso, make_patient, make_task


@pytest.fixture
def due(database, clock, world):
    """Two due tasks: a plain one overdue by five days, and one of the ENT service overdue by a day."""
    a = world.a
    first = make_task(
        database,
        clock,
        a.clinic.id,
        make_patient(database, clock, a.clinic.id).id,
        service_id=a.services[0].id,
        due_at=clock.now() - timedelta(days=5),
    )
    second = make_task(
        database,
        clock,
        a.clinic.id,
        make_patient(database, clock, a.clinic.id, language="zh").id,
        service_id=a.services[1].id,
        due_at=clock.now() - timedelta(days=1),
    )
    return first.id, second.id


def test_an_operator_claims_works_and_books_from_the_queue(client, clock, world, due):
    operator = api_as(client, world.a, "operator")
    claim = operator.post("/recall-queue/claim")
    assert claim.status_code == 200, claim.get_json()
    task = claim.json["task"]
    assert task["id"] == due[0] and task["lease_holder_id"] == world.a.staff["operator"].id
    assert claim.json["surge"]["active"] is False

    renewed = operator.put(f"/recall-tasks/{task['id']}/lease")
    assert (
        renewed.status_code == 200
        and renewed.json["lease_expires_at"] == (clock.now() + timedelta(minutes=15)).isoformat()
    )

    booked = operator.post(
        f"/recall-tasks/{task['id']}/attempts",
        json={
            "outcome": "booked",
            "channel": "phone",
            "duration_seconds": 180,
            "booking": {"start_at": iso(clock.now() + timedelta(days=2)), "service_id": world.a.services[0].id},
        },
    )
    assert booked.status_code == 201, booked.get_json()
    assert booked.json["task"]["status"] == "won" and booked.json["attempt"]["outcome"] == "booked"
    credit = operator.get(f"/bookings/{booked.json['booking_id']}/credit")
    assert [(e["kind"], e["amount_cents"]) for e in credit.json] == [("pending", 1500)]

    attempts = operator.get(f"/recall-tasks/{task['id']}/attempts")
    assert [a["outcome"] for a in attempts.json["items"]] == ["booked"]
    assert operator.post("/recall-queue/claim").json["task"]["id"] == due[1]
    assert operator.post("/recall-queue/claim").json["task"] is None, "nothing else is due"


def test_a_reminder_call_comes_first_and_the_operator_reschedules_the_visit_through_the_api(
    client, database, clock, world, due
):
    operator, a = api_as(client, world.a, "operator"), world.a
    made = api_as(client, a, "frontdesk").post(
        "/bookings",
        json={
            "patient_id": a.patients[1].id,
            "service_id": a.services[0].id,
            "channel": "in_person",
            "start_at": iso(clock.now() + timedelta(days=1)),
        },
    )
    assert made.status_code == 201, made.get_json()
    call = make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[1].id,
        reason=TaskReason.REMINDER_CALL,
        origin_booking_id=made.json["id"],
    )

    claimed = operator.post("/recall-queue/claim").json["task"]
    assert (claimed["id"], claimed["reason"]) == (call.id, "reminder_call")  # before tasks five days overdue
    new_start = iso(clock.now() + timedelta(days=3))
    moved = operator.post(
        f"/recall-tasks/{call.id}/attempts",
        json={"outcome": "rescheduled", "duration_seconds": 90, "booking": {"start_at": new_start}},
    )

    assert moved.status_code == 201, moved.get_json()
    assert moved.json["task"]["close_reason"] == "rescheduled" and moved.json["booking_id"] == made.json["id"]
    booking = operator.get(f"/bookings/{made.json['id']}").json
    assert booking["start_at"].replace("+00:00", "Z") == new_start and booking["status"] == "booked"


def test_a_second_operator_never_gets_the_task_the_first_holds(client, world, due):
    first = api_as(client, world.a, "operator").post("/recall-queue/claim").json["task"]["id"]
    second = api_as(client, world.a, "operator2").post("/recall-queue/claim").json["task"]["id"]
    assert first != second
    attempt = api_as(client, world.a, "operator2").post(
        f"/recall-tasks/{first}/attempts", json={"outcome": "no_answer"}
    )
    assert_error(attempt, 409, "conflict")


def test_the_queue_can_be_browsed_by_assignee_and_lease(client, world, due):
    operator = api_as(client, world.a, "operator")
    held = operator.post("/recall-queue/claim").json["task"]["id"]
    manager = api_as(client, world.a, "manager")
    mine = manager.get(f"/recall-tasks?assignee_id={world.a.staff['operator'].id}")
    assert [t["id"] for t in mine.json["items"]] == [held]
    free = manager.get("/recall-tasks?leased=false&status=open")
    assert held not in [t["id"] for t in free.json["items"]] and due[1] in [t["id"] for t in free.json["items"]]
    by_service = manager.get(f"/recall-tasks?service_id={world.a.services[1].id}")
    assert [t["id"] for t in by_service.json["items"]] == [due[1]]


def test_the_api_reports_a_surge_once_a_threshold_is_crossed(client, world, due):
    manager = api_as(client, world.a, "manager")
    assert manager.get("/recall-queue/surge").json["active"] is False
    assert manager.patch("/clinic", json={"surge_backlog": 2}).status_code == 200
    surge = api_as(client, world.a, "operator").get("/recall-queue/surge")
    assert surge.json == {
        "active": True,
        "reasons": ["2 or more tasks are due"],
        "backlog_threshold": 2,
        "overdue_days_threshold": None,
        "overdue_tasks_threshold": 1,
    }


def test_a_manager_sets_the_queue_rules(client, world):
    manager = api_as(client, world.a, "manager")
    rules = {
        "recall_lease_minutes": 20,
        "recall_max_attempts": 3,
        "recall_backoff_minutes": [60, 600],
        "recall_callback_hold_minutes": 30,
        "surge_backlog": 500,
        "surge_overdue_days": 14,
        "surge_overdue_tasks": 50,
    }
    response = manager.patch("/clinic", json=rules)
    assert response.status_code == 200, response.get_json()
    assert {k: response.json[k] for k in rules} == rules
    cleared = manager.patch("/clinic", json={"surge_backlog": None})
    assert cleared.json["surge_backlog"] is None


# --- refusals -------------------------------------------------------------------------------------------------------


def _attempt(v: Any, **changes: Any) -> dict[str, Any]:
    return {"outcome": "no_answer", "channel": "phone", "duration_seconds": 30, **changes}


ATTEMPT_REFUSALS = [
    ("an unknown outcome", _attempt, {"outcome": "hung_up"}, "outcome"),
    ("no outcome", lambda v: {"channel": "phone"}, {}, "outcome"),
    ("an unknown channel", _attempt, {"channel": "fax"}, "channel"),
    ("a negative duration", _attempt, {"duration_seconds": -5}, "duration_seconds"),
    ("a duration as text", _attempt, {"duration_seconds": "30"}, "duration_seconds"),
    ("a duration over four hours", _attempt, {"duration_seconds": 14401}, "duration_seconds"),
    ("a note too long", _attempt, {"note": "x" * 1001}, "note"),
    ("a decline without a reason", _attempt, {"outcome": "declined"}, "decline_reason"),
    ("a reason with another outcome", _attempt, {"decline_reason": "no"}, "decline_reason"),
    ("a callback without a time", _attempt, {"outcome": "callback_requested"}, "callback_at"),
    (
        "a callback in the past",
        _attempt,
        {"outcome": "callback_requested", "callback_at": "2026-03-01T10:00:00Z"},
        "callback_at",
    ),
    (
        "a callback without an offset",
        _attempt,
        {"outcome": "callback_requested", "callback_at": "2026-03-03T10:00:00"},
        "callback_at",
    ),
    (
        "a callback at night",
        _attempt,
        {"outcome": "callback_requested", "callback_at": "2026-03-03T22:00:00Z"},
        "callback_at",
    ),
    (
        "a callback a year ahead",
        _attempt,
        {"outcome": "callback_requested", "callback_at": "2027-03-03T10:00:00Z"},
        "callback_at",
    ),
    ("a booking outcome without the booking", _attempt, {"outcome": "booked"}, "booking"),
    (
        "a booking in the past",
        _attempt,
        {"outcome": "booked", "booking": {"start_at": "2026-02-01T10:00:00Z", "service_id": 1}},
        "booking.start_at",
    ),
    ("a booking without a time", _attempt, {"outcome": "booked", "booking": {"service_id": 1}}, "booking.start_at"),
    (
        "a booking of another clinic's service",
        _attempt,
        {"outcome": "booked", "booking": {"start_at": "2026-03-05T10:00:00Z", "service_id": 999_999}},
        "booking.service_id",
    ),
    # The held task is win-back work: the outcomes of a service call do not end it.
    ("a confirmation of win-back work", _attempt, {"outcome": "confirmed"}, "outcome"),
    ("a cancellation of win-back work", _attempt, {"outcome": "cancelled"}, "outcome"),
    ("a resolution of win-back work", _attempt, {"outcome": "resolved"}, "outcome"),
    ("a reschedule without the new time", _attempt, {"outcome": "rescheduled"}, "booking"),
    ("a new time with another outcome", _attempt, {"booking": {"start_at": "2026-03-05T10:00:00Z"}}, "booking"),
]


@pytest.mark.parametrize("name,body,changes,field", ATTEMPT_REFUSALS, ids=[c[0] for c in ATTEMPT_REFUSALS])
def test_a_bad_attempt_is_refused_naming_the_field_and_writes_nothing(
    client, database, world, v, name, body, changes, field
):
    with nothing_written(database):
        response = api_as(client, world.a, "operator").post(
            f"/recall-tasks/{v.held}/attempts", json={**body(v), **changes}
        )
    assert_rejected(response, field)


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"recall_lease_minutes": 0}, "recall_lease_minutes"),
        ({"recall_lease_minutes": "15"}, "recall_lease_minutes"),
        ({"recall_max_attempts": 51}, "recall_max_attempts"),
        ({"recall_backoff_minutes": []}, "recall_backoff_minutes"),
        ({"recall_backoff_minutes": [60, 2]}, "recall_backoff_minutes.1"),
        ({"recall_backoff_minutes": "60"}, "recall_backoff_minutes"),
        ({"recall_callback_hold_minutes": -1}, "recall_callback_hold_minutes"),
        ({"surge_backlog": 0}, "surge_backlog"),
        ({"surge_overdue_tasks": None}, "surge_overdue_tasks"),
    ],
)
def test_bad_queue_rules_are_refused_naming_the_field(client, database, world, changes, field):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").patch("/clinic", json=changes)
    assert_rejected(response, field)


@pytest.mark.parametrize("weight", [0, 0.05, 10.5, "heavy", None, float("inf")])
def test_a_service_weight_outside_its_range_is_refused(client, database, world, weight):
    body = '{"value_weight": %s}' % ("Infinity" if weight == float("inf") else __import__("json").dumps(weight))
    with nothing_written(database):
        response = client.patch(
            f"/api/v1/services/{world.a.services[0].id}",
            data=body,
            content_type="application/json",
            headers=api_as(client, world.a, "manager").headers,
        )
    assert response.status_code in (400, 422), response.get_json()
