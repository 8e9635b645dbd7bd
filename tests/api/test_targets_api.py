"""Targets that rise through the API, on every configured database: the manager sets them, sees everyone's
progress in a month worked out by hand, and an operator sees only their own and the team's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recall.clinic.clinics import get_clinic
from recall.queue.attempts import AttemptChannel, ContactAttempt, Outcome
from recall.queue.targets import Target
from recall.queue.tasks import TaskReason, open_task
from tests.factories import api_as

# Stockholm's March 2026: 28 Feb 23:00Z to 31 Mar 22:00Z, 743 hours (the clocks go forward on the 29th).
# At 16 Mar 23:00Z (midnight into the 17th) 16 days, 384 hours, have gone by: a share of 384 / 743.
NOW = datetime(2026, 3, 16, 23, 0, tzinfo=UTC)
SHARE = 384 / 743


def attempts(database, world, who, n, start, outcome=Outcome.BOOKED):
    """``n`` attempts of ``who`` on a task of their own from ``start``, one an hour."""
    staff = world.a.staff[who]
    with database.writer() as s:
        clinic = get_clinic(s, world.a.clinic.id)
        task = open_task(s, clinic=clinic, patient_id=world.a.patients[0].id, reason=TaskReason.UNDECIDED,
                         due_at=start, now=start, follow_up_date=None, service_id=None, provider_id=None)  # fmt: skip
        for i in range(n):
            at = start + timedelta(hours=i)
            s.add(
                ContactAttempt(clinic_id=clinic.id, task_id=task.id, patient_id=task.patient_id, staff_id=staff.id,
                               channel=AttemptChannel.PHONE, outcome=outcome, answered=outcome is not Outcome.NO_ANSWER,
                               started_at=at, ended_at=at + timedelta(minutes=5), duration_seconds=300)
            )  # fmt: skip
        s.commit()


def target(api, **body):
    answer = api.post("/targets", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


@pytest.fixture
def targets(client, world, database, clock):
    """This month: the operator booked 4; operator2 booked 3 and had 1 unanswered; the operator's 5 in February
    count for no March target."""
    clock.set(NOW)
    attempts(database, world, "operator", 4, datetime(2026, 3, 10, 9, tzinfo=UTC))
    attempts(database, world, "operator2", 3, datetime(2026, 3, 12, 9, tzinfo=UTC))
    attempts(database, world, "operator2", 1, datetime(2026, 3, 13, 9, tzinfo=UTC), Outcome.NO_ANSWER)
    attempts(database, world, "operator", 5, datetime(2026, 2, 24, 9, tzinfo=UTC))
    manager = api_as(client, world.a, "manager")
    op, op2 = world.a.staff["operator"].id, world.a.staff["operator2"].id
    return {
        "team": target(manager, kpi="bookings", start_value=10, start_month="2026-01", rise_percent=10, cap=12),
        "op": target(manager, kpi="bookings", staff_id=op, start_value=8, start_month="2026-03", rise_percent=5),
        "op_conv": target(manager, kpi="conversion", staff_id=op, start_value=0.5, start_month="2026-03"),
        "op2": target(manager, kpi="contacts", staff_id=op2, start_value=3, start_month="2026-03"),
        "op2_later": target(manager, kpi="bookings", staff_id=op2, start_value=5, start_month="2026-04"),
    }


def by_target(answer):
    return {item["target"]["id"]: item for item in answer["items"]}


def test_the_manager_sees_everyone_s_progress_pro_rata_to_the_month_gone_by(client, world, targets):
    answer = api_as(client, world.a, "manager").get("/targets/progress")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["month"] == "2026-03" and body["elapsed_share"] == pytest.approx(SHARE)
    items = by_target(body)
    team = items[targets["team"]["id"]]
    # 10 in January, rising 10 % a month: 12.1 in March, capped at 12; 12 * 384/743 = 6.202 expected by now.
    assert (team["target_value"], team["actual"], team["status"]) == (12, 7, "on_track")
    assert team["expected_so_far"] == pytest.approx(12 * SHARE) and team["staff_name"] is None
    mine = items[targets["op"]["id"]]
    assert (mine["target_value"], mine["actual"], mine["status"], mine["on_track"]) == (8, 4, "behind", False)
    assert mine["expected_so_far"] == pytest.approx(8 * SHARE) and mine["projected"] == pytest.approx(4 / SHARE)
    assert mine["staff_name"] == "operator"
    assert (items[targets["op_conv"]["id"]]["status"], items[targets["op_conv"]["id"]]["actual"]) == ("no_data", None)
    contacts = items[targets["op2"]["id"]]
    assert (contacts["actual"], contacts["status"]) == (3, "on_track")  # 3 answered of 4; 3 * share = 1.55 due
    later = items[targets["op2_later"]["id"]]
    assert (later["target_value"], later["status"], later["on_track"]) == (None, "not_started", None)
    assert (body["on_track"], body["behind"]) == (2, 1)


def test_a_past_month_is_measured_whole_and_a_target_rises_into_it(client, world, targets):
    body = api_as(client, world.a, "manager").get("/targets/progress?month=2026-02").get_json()
    items = by_target(body)
    assert body["elapsed_share"] == 1
    team = items[targets["team"]["id"]]
    assert team["target_value"] == pytest.approx(11) and team["actual"] == 5 and team["status"] == "behind"
    assert items[targets["op"]["id"]]["status"] == "not_started"


def test_an_operator_sees_only_their_own_targets_and_the_team_s(client, world, targets):
    mine = api_as(client, world.a, "operator").get("/targets/me")
    assert mine.status_code == 200
    assert set(by_target(mine.get_json())) == {targets["team"]["id"], targets["op"]["id"], targets["op_conv"]["id"]}
    theirs = by_target(api_as(client, world.a, "operator2").get("/targets/me").get_json())
    assert set(theirs) == {targets["team"]["id"], targets["op2"]["id"], targets["op2_later"]["id"]}
    for who in ("operator", "frontdesk"):
        assert api_as(client, world.a, who).get("/targets/progress").status_code == 403
        assert api_as(client, world.a, who).post("/targets", json={}).status_code == 403
    assert api_as(client, world.a, "frontdesk").get("/targets/me").status_code == 403
    assert api_as(client, world.b, "manager").get(f"/targets/{targets['op']['id']}").status_code == 404


def test_the_manager_edits_and_removes_a_target(client, world, targets):
    manager = api_as(client, world.a, "manager")
    tid = targets["op"]["id"]
    edited = manager.patch(f"/targets/{tid}", json={"rise_percent": 20, "cap": 9})
    assert edited.status_code == 200 and (edited.get_json()["rise_percent"], edited.get_json()["cap"]) == (20, 9)
    assert manager.delete(f"/targets/{tid}").get_json()["id"] == tid
    assert manager.get(f"/targets/{tid}").status_code == 404
    assert [t["id"] for t in manager.get("/targets").get_json()][0] == targets["team"]["id"]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"kpi": "bookings", "start_value": 10, "start_month": "2026-03", "cap": 5}, "cap", 422),
        ({"kpi": "conversion", "start_value": 1.5, "start_month": "2026-03"}, "start_value", 422),
        ({"kpi": "refusals", "start_value": 1, "start_month": "2026-03"}, "kpi", 422),
        ({"kpi": "bookings", "start_value": 1, "start_month": "2026-13"}, "start_month", 422),
        ({"kpi": "bookings", "start_value": 1, "start_month": "2026-03", "rise_percent": 101}, "rise_percent", 422),
        ({"kpi": "bookings", "start_value": 1, "start_month": "2026-03", "staff_id": "frontdesk"}, "staff_id", 422),
        ({"kpi": "bookings", "start_value": 1, "start_month": "2026-03", "staff_id": "b"}, "staff_id", 422),
        ({"kpi": "bookings", "start_value": 1, "start_month": "2026-03"}, "kpi", 409),  # the team has one
    ],
)
def test_a_target_that_breaks_a_rule_is_refused_naming_the_field(client, world, targets, body, field, status):
    if body.get("staff_id") == "frontdesk":
        body = {**body, "staff_id": world.a.staff["frontdesk"].id}
    elif body.get("staff_id") == "b":
        body = {**body, "staff_id": world.b.staff["operator"].id}
    answer = api_as(client, world.a, "manager").post("/targets", json=body)
    assert answer.status_code == status and field in str(answer.get_json()), answer.get_json()


def test_the_database_keeps_one_target_per_kpi_and_scope_whatever_the_check_misses(database, world):
    """A race past the use case's check (two managers saving at once) meets the unique indexes: the team's
    scope (a null staff_id, which a plain unique index would let repeat) and an operator's."""
    op, op2 = world.a.staff["operator"].id, world.a.staff["operator2"].id
    now = datetime(2026, 3, 1, tzinfo=UTC)

    def add(kpi, staff_id):
        with database.writer() as s:
            start = date(2026, 3, 1)
            s.add(Target(clinic_id=world.a.clinic.id, kpi=kpi, staff_id=staff_id, start_value=1, start_month=start,
                         rise_percent=0, cap=None, created_at=now, updated_at=now))  # fmt: skip
            s.commit()

    add("bookings", None)
    add("bookings", op)
    add("bookings", op2)  # another operator's scope
    add("contacts", None)  # another KPI of the team
    for kpi, staff_id in (("bookings", None), ("bookings", op)):
        with pytest.raises(IntegrityError):
            add(kpi, staff_id)
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Target)) == 4
