"""What a claim shows over HTTP: the call's whole sheet in one answer, and what a booking from it defaults to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.queue.attempts import AttemptChannel, AttemptInput, ContactAttempt, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import TaskReason
from recall.reminders.patient_edits import update_patient
from recall.visits.bookings import BookingRequest, Channel, create_booking
from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.api.checks import assert_error
from tests.factories import actor_of, api_as, future, iso, make_task


def _write(database, fn, *args, **kw) -> Any:
    with database.writer() as s:
        return fn(s, *args, **kw)


@pytest.fixture
def history(database, clock, world):
    """The first patient (in Warsaw's zone) left a check-up 40 days ago undecided, and did not answer a call
    10 days ago; the second has a booking in three days and wrote back asking to move it."""
    a, desk, operator = world.a, actor_of(world.a.staff["frontdesk"]), actor_of(world.a.staff["operator"])
    astrid, kasia = a.patients[0].id, a.patients[1].id
    _write(database, update_patient, clock, Actor.system(a.clinic.id), astrid, {"timezone": "Europe/Warsaw"})
    long_ago = FixedClock(clock.now() - timedelta(days=40))
    visit = _write(
        database,
        check_in,
        long_ago,
        desk,
        patient_id=astrid,
        provider_id=a.providers[0].id,
        service_id=a.services[0].id,
    )
    winback = _write(
        database,
        checkout,
        long_ago,
        desk,
        visit.id,
        CheckoutRequest(follow_up=FollowUp.UNDECIDED, note="call after 5 pm"),
    ).recall_task
    ten_days_ago = FixedClock(clock.now() - timedelta(days=10))
    assert _write(database, claim_next, ten_days_ago, operator).task.id == winback.id
    _write(
        database,
        log_attempt,
        ten_days_ago,
        operator,
        winback.id,
        AttemptInput(outcome=Outcome.NO_ANSWER, duration_seconds=40, note="rang twice, no voicemail"),
    )
    booking = _write(
        database,
        create_booking,
        clock,
        operator,
        BookingRequest(
            patient_id=kasia,
            provider_id=a.providers[1].id,
            service_id=a.services[1].id,
            channel=Channel.PHONE,
            start_at=future(clock, 3),
        ),
    ).id
    request = make_task(
        database,
        clock,
        a.clinic.id,
        kasia,
        reason=TaskReason.PATIENT_REQUEST,
        origin_booking_id=booking,
        request_text="Czy mogę przyjść w piątek?",
    ).id
    return {"visit": visit.id, "winback": winback.id, "booking": booking, "request": request}


def test_a_claim_carries_what_the_call_needs_without_a_second_request(client, clock, world, history):
    a = world.a
    operator = api_as(client, a, "operator")
    first = operator.post("/recall-queue/claim")
    assert first.status_code == 200, first.get_json()
    # The patient's request (service work) comes first: who, when it is for them, what they wrote, about what.
    assert first.json["task"]["id"] == history["request"]
    assert [t["id"] for t in first.json["tasks"]] == [history["request"]]
    assert first.json["patient"] == {
        "id": a.patients[1].id,
        "full_name": "Katarzyna Kowalska",
        "phone": "+48512345678",
        "language": "pl",
        "timezone": "Europe/Stockholm",
        "timezone_is_clinics": True,
        "local_time": "2026-03-02T09:00:00+01:00",
        "opted_out": False,
        "phone_invalid": False,
    }
    task = first.json["tasks"][0]
    assert task["reason"] == "patient_request" and task["request_text"] == "Czy mogę przyjść w piątek?"
    booking = {
        "id": history["booking"],
        "start_at": iso(future(clock, 3)).replace("Z", "+00:00"),
        "end_at": iso(future(clock, 3) + timedelta(minutes=20)).replace("Z", "+00:00"),
        "status": "booked",
        "provider": {"id": a.providers[1].id, "name": a.providers[1].name},
        "service": {"id": a.services[1].id, "name": "ENT consultation"},
    }
    assert task["origin_booking"] == booking and task["origin_visit"] is None
    assert first.json["upcoming_bookings"] == [booking]
    assert first.json["attempts"] == []

    second = operator.post("/recall-queue/claim")
    assert second.status_code == 200, second.get_json()
    assert second.json["patient"]["timezone"] == "Europe/Warsaw"
    assert second.json["patient"]["local_time"] == "2026-03-02T09:00:00+01:00"
    assert second.json["patient"]["timezone_is_clinics"] is False
    [winback] = second.json["tasks"]
    assert winback["id"] == history["winback"] and winback["reason"] == "undecided"
    assert winback["suggested_provider"] == {"id": a.providers[0].id, "name": a.providers[0].name}
    assert winback["suggested_service"] == {"id": a.services[0].id, "name": a.services[0].name}
    assert winback["origin_visit"]["id"] == history["visit"]
    assert winback["origin_visit"]["follow_up"] == "undecided"
    assert winback["origin_visit"]["follow_up_note"] == "call after 5 pm"
    assert winback["origin_visit"]["service"] == winback["suggested_service"]
    assert winback["request_text"] is None and winback["origin_booking"] is None
    [attempt] = second.json["attempts"]
    assert (attempt["task_id"], attempt["outcome"], attempt["note"], attempt["staff_name"], attempt["staff_id"]) == (
        history["winback"],
        "no_answer",
        "rang twice, no voicemail",
        a.staff["operator"].name,
        a.staff["operator"].id,
    )
    assert second.json["upcoming_bookings"] == []

    nothing = operator.post("/recall-queue/claim")
    assert nothing.status_code == 200 and nothing.json["task"] is None
    assert (
        nothing.json["tasks"],
        nothing.json["patient"],
        nothing.json["attempts"],
        nothing.json["upcoming_bookings"],
    ) == ([], None, [], [])


def test_the_claims_reads_do_not_grow_with_the_patients_tasks_and_attempts(client, database, clock, world):
    a = world.a
    desk, operator = actor_of(a.staff["frontdesk"]), actor_of(a.staff["operator"])

    def left_undecided(patient: int, days_ago: int, i: int) -> int:
        then = FixedClock(clock.now() - timedelta(days=days_ago))
        visit = _write(
            database,
            check_in,
            then,
            desk,
            patient_id=patient,
            provider_id=a.providers[i % 2].id,
            service_id=a.services[0].id,
        )
        return _write(
            database, checkout, then, desk, visit.id, CheckoutRequest(follow_up=FollowUp.UNDECIDED)
        ).recall_task.id

    def statements_of_a_claim() -> tuple[int, list[int]]:
        seen: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            seen.append(statement)

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            response = api_as(client, a, "operator").post("/recall-queue/claim")
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.get_json()
        return len(seen), [t["id"] for t in response.json["tasks"]]

    few, many = a.patients[0].id, a.patients[1].id
    alone = left_undecided(few, 60, 0)
    several = [left_undecided(many, 50 - i, i) for i in range(3)]
    with database.writer() as s:  # the second patient's history: six earlier attempts with notes
        for i in range(6):
            s.add(
                ContactAttempt(
                    clinic_id=a.clinic.id,
                    task_id=several[i % 3],
                    patient_id=many,
                    staff_id=operator.staff_id,
                    channel=AttemptChannel.PHONE,
                    outcome=Outcome.BUSY,
                    answered=False,
                    started_at=clock.now() - timedelta(days=9 - i),
                    ended_at=clock.now() - timedelta(days=9 - i),
                    duration_seconds=0,
                    note=f"try {i}",
                )
            )
        s.commit()
    one, first = statements_of_a_claim()
    assert first == [alone]
    _write(database, log_attempt, clock, operator, alone, AttemptInput(outcome=Outcome.DECLINED, decline_reason="no"))
    more, second = statements_of_a_claim()
    assert second == several
    assert more == one, f"a claim of 1 task sent {one} statements, of 3 tasks with 6 attempts {more}"


def test_a_booked_attempt_that_names_no_provider_or_service_books_the_tasks_suggestion(client, database, clock, world):
    a = world.a
    task = make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[0].id,
        service_id=a.services[0].id,
        provider_id=a.providers[0].id,
        due_at=clock.now() - timedelta(days=1),
    ).id
    operator = api_as(client, a, "operator")
    assert operator.post("/recall-queue/claim").json["task"]["id"] == task
    booked = operator.post(
        f"/recall-tasks/{task}/attempts", json={"outcome": "booked", "booking": {"start_at": iso(future(clock, 5))}}
    )
    assert booked.status_code == 201, booked.get_json()
    booking = operator.get(f"/bookings/{booked.json['booking_id']}").json
    assert (booking["provider_id"], booking["service_id"], booking["source"]) == (
        a.providers[0].id,
        a.services[0].id,
        "recall_task",
    )


def test_a_second_check_in_of_a_patient_still_checked_in_is_a_409_naming_the_open_visit(client, world):
    desk = api_as(client, world.a, "frontdesk")
    first = desk.post("/visits", json={"patient_id": world.a.patients[0].id})
    assert first.status_code == 201, first.get_json()
    again = desk.post("/visits", json={"patient_id": world.a.patients[0].id, "service_id": world.a.services[0].id})
    body = assert_error(again, 409, "conflict")
    assert f"visit {first.json['id']}" in body["message"]
    assert any(f"visit {first.json['id']}" in m for m in body["fields"]["patient_id"]), body
