"""Both paths of the issue, walked over real HTTP against a running server.

(a) visit -> checkout booked at the desk -> attended -> the front desk earns the base rate;
(b) visit -> checkout undecided -> recall task due after cooling-off -> an operator books it
    with a different specialist -> attended -> the operator earns base x multiplier;
    and the variant where a no-show voids the credit instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import requests
from werkzeug.serving import make_server

from tests.factories import iso


@pytest.fixture
def live(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    thread.join(timeout=5)


class Http:
    def __init__(self, base: str, token: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, expect: int = 200, **kw):
        response = self.session.request(method, self.base + path, timeout=10, **kw)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()


def _people(live: str, world) -> tuple[Http, Http, Http]:
    return tuple(Http(live, world.a.tokens[who]) for who in ("frontdesk", "operator", "manager"))


def _plan(manager: Http, *, base: int = 2000, multiplier: float = 1.5) -> None:
    manager(
        "PUT",
        "/clinic/pay-plan",
        json={"frontdesk_base_cents": base, "operator_base_cents": base, "recall_multiplier": multiplier},
    )


def test_a_desk_booking_that_is_attended_earns_the_front_desk_the_base_rate(live, world, clock):
    desk, _, manager = _people(live, world)
    _plan(manager, base=2000)
    patient, service = world.a.patients[0], world.a.services[0]

    visit = desk(
        "POST",
        "/visits",
        201,
        json={"patient_id": patient.id, "service_id": service.id, "provider_id": world.a.providers[0].id},
    )
    start = (clock.now() + timedelta(days=10)).replace(hour=9, minute=0)
    result = desk(
        "POST",
        f"/visits/{visit['id']}/checkout",
        json={"follow_up": "booked", "booking": {"start_at": iso(start), "service_id": service.id}},
    )
    booking = result["booking"]
    assert result["recall_task"] is None
    assert booking["channel"] == "in_person" and booking["credited_role"] == "frontdesk"
    assert booking["credited_staff_id"] == world.a.staff["frontdesk"].id

    pending = desk("GET", "/earnings/me")
    assert (pending["pending_cents"], pending["earned_cents"]) == (2000, 0)

    clock.set(start + timedelta(minutes=5))
    assert desk("POST", f"/bookings/{booking['id']}/attend")["status"] == "attended"

    earned = desk("GET", "/earnings/me")
    assert (earned["earned_cents"], earned["earned_count"], earned["pending_cents"]) == (2000, 1, 0)
    assert [d["earned_cents"] for d in earned["days"] if d["day"] == start.date().isoformat()] == [2000]
    kinds = [e["kind"] for e in desk("GET", f"/bookings/{booking['id']}/credit")]
    assert kinds == ["pending", "earned"]


def _recall_path(live, world, clock, outcome: str) -> dict:
    desk, operator, manager = _people(live, world)
    _plan(manager, base=2000, multiplier=1.5)
    manager("PATCH", "/clinic", json={"recall_cooling_off_hours": 72})
    patient = world.a.patients[1]
    routine, ent = world.a.services[0], world.a.services[1]
    gp, ent_doctor = world.a.providers

    visit = desk(
        "POST", "/visits", 201, json={"patient_id": patient.id, "service_id": routine.id, "provider_id": gp.id}
    )
    checked_out_at = clock.now()
    result = desk(
        "POST",
        f"/visits/{visit['id']}/checkout",
        json={"follow_up": "undecided", "follow_up_date": (checked_out_at + timedelta(days=2)).date().isoformat()},
    )
    task = result["recall_task"]
    assert result["booking"] is None and task["status"] == "open"
    # Recommended in two days, but cooling-off is three: due after the cooling-off delay.
    assert datetime.fromisoformat(task["due_at"]) == checked_out_at + timedelta(hours=72)

    clock.set(datetime.fromisoformat(task["due_at"]))
    queue = operator("GET", "/recall-tasks?status=open")
    assert [t["id"] for t in queue["items"]] == [task["id"]]

    start = (clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    booking = operator(
        "POST",
        "/bookings",
        201,
        json={
            "patient_id": patient.id,
            "channel": "phone",
            "source": "recall_task",
            "recall_task_id": task["id"],
            "service_id": ent.id,
            "provider_id": ent_doctor.id,
            "start_at": iso(start),
        },
    )
    assert booking["credited_role"] == "operator" and booking["follow_up_of_visit_id"] == visit["id"]
    won = operator("GET", f"/recall-tasks/{task['id']}")
    assert (won["status"], won["booking_id"]) == ("won", booking["id"])

    clock.set(start + timedelta(minutes=10))
    desk("POST", f"/bookings/{booking['id']}/{outcome}")
    return operator("GET", f"/earnings/me?from={start.date().replace(day=1)}&to={start.date()}")


def test_a_recall_booking_with_another_specialist_that_is_attended_earns_the_operator_base_times_multiplier(
    live, world, clock
):
    earnings = _recall_path(live, world, clock, "attend")
    assert earnings["earned_cents"] == 3000  # 2000 x 1.5
    assert (earnings["earned_count"], earnings["pending_cents"], earnings["voided_cents"]) == (1, 0, 0)


def test_a_recall_booking_that_ends_in_a_no_show_voids_the_operators_credit(live, world, clock):
    earnings = _recall_path(live, world, clock, "no-show")
    assert (earnings["earned_cents"], earnings["pending_cents"]) == (0, 0)
    assert (earnings["voided_cents"], earnings["voided_count"]) == (3000, 1)


def test_a_no_show_on_a_follow_up_puts_the_patient_back_in_the_recall_queue(live, world, clock):
    _recall_path(live, world, clock, "no-show")
    _, operator, _ = _people(live, world)
    reopened = operator("GET", "/recall-tasks?status=open")["items"]
    assert len(reopened) == 1 and reopened[0]["reason"] == "no_show"


def test_the_manager_sees_the_team_and_a_what_if_over_the_past_month(live, world, clock):
    earnings = _recall_path(live, world, clock, "attend")
    _, _, manager = _people(live, world)
    month = date.fromisoformat(earnings["from"])
    team = manager("GET", f"/earnings/team?from={month}&to={earnings['to']}")
    by_staff = {row["staff_id"]: row for row in team["staff"]}
    assert by_staff[world.a.staff["operator"].id]["earned_cents"] == 3000
    assert by_staff[world.a.staff["frontdesk"].id]["earned_cents"] == 0

    what_if = manager(
        "POST",
        "/earnings/what-if",
        json={
            "from": str(month),
            "to": earnings["to"],
            "plan": {"frontdesk_base_cents": 2000, "operator_base_cents": 2500, "recall_multiplier": 2},
        },
    )
    assert (what_if["actual_cents"], what_if["proposed_cents"]) == (3000, 5000)
    assert what_if["rows"][0]["difference_cents"] == 2000
