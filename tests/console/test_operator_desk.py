"""The operator's desk: the next patient's card, every outcome as the API records it, the message beside the
field when the input is wrong (and nothing written), and the doors closed to another clinic and another role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.staff import Staff
from recall.credit.ledger import CreditEntry, CreditKind
from recall.queue.attempts import ContactAttempt, Outcome
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus
from recall.visits.booking import Booking
from recall.visits.visit import FollowUp
from recall.visits.visits import CheckoutRequest, check_in, checkout
from tests.console.helpers import post, text
from tests.factories import make_booking, make_task, row

pytestmark = pytest.mark.db


@pytest.fixture
def task(database, clock, world):
    """Clinic a's first patient, undecided at checkout, with the general check-up at Dr. Berg suggested."""
    a = world.a
    return make_task(
        database, clock, a.clinic.id, a.patients[0].id, service_id=a.services[0].id, provider_id=a.providers[0].id
    )


def _claim(client):
    answer = post(client, "/console/desk/next", fetch=True)
    assert answer.status_code == 200, text(answer)
    return answer


def _attempt(client, task_id, **fields):
    return post(client, f"/console/desk/tasks/{task_id}/attempts", fields, fetch=True)


def _all(database, model, *where):
    with database.reader() as s:
        return list(s.scalars(sa.select(model).where(*where)))


def test_taking_the_next_patient_shows_their_card_with_the_lease_and_the_tasks_worth(console, task):
    client = console("operator")
    assert "Take the next patient" in text(client.get("/console/desk/"))
    page = text(_claim(client))
    assert page.startswith('<div id="desk"'), "a fragment for console.js, not a whole page"
    assert "Astrid Andersson" in page
    assert 'href="tel:+46701234567"' in page
    assert "Svenska" in page
    assert "Undecided at checkout" in page
    assert "Dr. Anna Berg" in page and "General check-up" in page
    assert 'data-countdown="900"' in page  # the clinic's 15-minute lease
    assert "weekdays 09:00–20:00" in page and "Mon 09:00" in page
    assert "SEK15.00" in page  # the base 10.00 with the recall multiplier 1.5
    # Reloading the page keeps the patient on the desk (no second claim).
    again = text(client.get("/console/desk/"))
    assert "Astrid Andersson" in again and "Take the next patient" not in again


def test_the_card_shows_the_patients_request_earlier_attempts_and_upcoming_bookings(console, database, clock, world):
    a = world.a
    booking = make_booking(database, clock, a, service_id=a.services[1].id, provider_id=a.providers[1].id, days=20)
    request = make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[0].id,
        reason=TaskReason.PATIENT_REQUEST,
        origin_booking_id=booking.id,
        request_text="Can I come an hour later?",
    )
    client = console("operator")
    page = text(_claim(client))
    assert "The patient's own request" in page and "Can I come an hour later?" in page
    assert "About the booking" in page and "ENT consultation" in page
    assert "Upcoming bookings" in page and "Dr. Piotr Zieliński" in page
    for outcome in ("confirmed", "cancelled", "rescheduled", "resolved"):
        assert f'value="{outcome}"' in page
    answer = _attempt(client, request.id, outcome="no_answer", note="rang twice")
    assert answer.status_code == 200
    page = text(answer)
    assert "The queue is empty" in page  # the only task is now waiting for its next try
    assert row(database, RecallTask, request.id).attempt_count == 1


def test_a_win_back_card_offers_no_service_outcomes(console, task):
    page = text(_claim(console("operator")))
    assert 'value="booked"' in page and 'value="confirmed"' not in page and 'value="rescheduled"' not in page


def test_booking_with_another_specialist_wins_the_task_and_credits_the_operator_pending(console, database, world, task):
    a = world.a
    client = console("operator")
    _claim(client)
    answer = _attempt(
        client,
        task.id,
        outcome="booked",
        channel="phone",
        note="sore throat: ENT instead",
        **{
            "booking.provider_id": str(a.providers[1].id),
            "booking.service_id": str(a.services[1].id),
            "booking.start_at": "2026-03-05T10:00",
        },
    )
    assert answer.status_code == 200, text(answer)
    (booking,) = _all(database, Booking, Booking.recall_task_id == task.id)
    assert (booking.provider_id, booking.service_id) == (a.providers[1].id, a.services[1].id)
    assert booking.start_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm
    (credit,) = _all(database, CreditEntry, CreditEntry.booking_id == booking.id)
    assert credit.kind is CreditKind.PENDING and credit.staff_id == a.staff["operator"].id
    assert credit.is_recall and credit.amount_cents == 1500
    won = row(database, RecallTask, task.id)
    assert won.status is TaskStatus.WON and won.booking_id == booking.id
    (attempt,) = _all(database, ContactAttempt, ContactAttempt.task_id == task.id)
    assert attempt.outcome is Outcome.BOOKED and attempt.note == "sore throat: ENT instead"
    page = text(answer)
    assert "The queue is empty" in page
    assert "data-pending>SEK15.00" in page


def test_a_callback_is_scheduled_in_the_patients_time_and_listed_among_my_callbacks(console, database, world, task):
    client = console("operator")
    _claim(client)
    answer = _attempt(client, task.id, outcome="callback_requested", callback_at="2026-03-02T15:30")
    assert answer.status_code == 200, text(answer)
    waiting = row(database, RecallTask, task.id)
    assert waiting.due_at == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert waiting.reserved_for_id == world.a.staff["operator"].id and waiting.lease_holder_id is None
    assert "Astrid Andersson" in text(answer)  # beside the card: today's callbacks
    page = text(client.get("/console/desk/callbacks"))
    assert "Astrid Andersson" in page and 'href="tel:+46701234567"' in page
    assert "Astrid Andersson" not in text(console("operator2").get("/console/desk/callbacks"))


def test_a_decline_stores_its_reason(console, database, task):
    client = console("operator")
    _claim(client)
    answer = _attempt(client, task.id, outcome="declined", decline_reason="moving abroad")
    assert answer.status_code == 200
    closed = row(database, RecallTask, task.id)
    assert closed.status is TaskStatus.CLOSED and closed.decline_reason == "moving abroad"
    (attempt,) = _all(database, ContactAttempt, ContactAttempt.task_id == task.id)
    assert attempt.decline_reason == "moving abroad"


def test_after_an_outcome_the_next_patient_follows(console, database, clock, world, task):
    a = world.a
    make_task(database, clock, a.clinic.id, a.patients[1].id, due_at=clock.now() - timedelta(hours=1))
    client = console("operator")
    first = text(_claim(client))
    assert "Katarzyna Kowalska" in first  # the more overdue one first
    second = _attempt(client, row_id(database, a.patients[1].id), outcome="busy")
    assert second.status_code == 200
    assert "Astrid Andersson" in text(second) and "The next patient" in text(second)


def row_id(database, patient_id):
    (found,) = _all(database, RecallTask, RecallTask.patient_id == patient_id)
    return found.id


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"outcome": "callback_requested", "callback_at": "2026-03-02T22:00"}, "callback_at", "calling hours"),
        ({"outcome": "callback_requested", "callback_at": "tomorrow-ish"}, "callback_at", "a date and time"),
        ({"outcome": "callback_requested"}, "callback_at", "is required"),
        ({"outcome": "declined", "decline_reason": "   "}, "decline_reason", "is required"),
        ({"outcome": "declined", "decline_reason": "x" * 201}, "decline_reason", "200"),
        ({"outcome": "booked", "booking.start_at": "2026-03-01T10:00"}, "booking.start_at", "in the past"),
        ({"outcome": "booked"}, "booking.start_at", "required"),
        (
            {"outcome": "booked", "booking.start_at": "2026-03-05T10:00", "booking.provider_id": "x"},
            "booking.provider_id",
            "from the list",
        ),
        (
            {"outcome": "booked", "booking.start_at": "2026-03-05T10:00", "booking.provider_id": "999"},
            "booking.provider_id",
            "999",
        ),
        ({"outcome": "confirmed"}, "_form", "win-back"),
        ({"outcome": "panic"}, "_form", "outcome"),
        ({"outcome": "busy", "channel": "pigeon"}, "channel", "Must be one of"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(console, database, task, fields, field, message):
    client = console("operator")
    _claim(client)
    answer = _attempt(client, task.id, **fields)
    assert 400 <= answer.status_code < 500, text(answer)
    page = text(answer)
    if field == "_form":
        assert 'class="form-error"' in page and message in page.split('class="form-error"')[1][:400]
    else:
        box = page.split(f'id="{field}-error" role="alert">')[1].split("</p>")[0]
        assert message in box.replace("&#39;", "'"), box
    assert "Astrid Andersson" in page, "the same patient stays on the desk"
    assert _all(database, ContactAttempt) == [] and _all(database, Booking) == []
    still = row(database, RecallTask, task.id)
    assert still.status is TaskStatus.OPEN and still.lease_holder_id is not None


def test_an_overlapping_booking_is_a_conflict_beside_the_time(console, database, clock, world, task):
    a = world.a
    make_booking(database, clock, a, start_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC), by=None)
    client = console("operator")
    # The patient's future booking closes the win-back task on the way: a new one for the other patient.
    other = make_task(database, clock, a.clinic.id, a.patients[1].id)
    make_booking(database, clock, a, patient_id=a.patients[1].id, start_at=datetime(2026, 3, 6, 9, 0, tzinfo=UTC))
    with database.writer() as s:  # a service call, so the booking does not close it
        s.get_one(RecallTask, other.id).reason = TaskReason.REMINDER_CALL
        s.commit()
    _claim(client)
    answer = _attempt(
        client,
        other.id,
        outcome="booked",
        **{"booking.start_at": "2026-03-06T10:10", "booking.service_id": str(a.services[0].id)},
    )
    assert answer.status_code == 409
    assert "overlapping" in text(answer).split('id="booking.start_at-error"')[1][:300]
    assert row(database, RecallTask, other.id).status is TaskStatus.OPEN


def test_a_reschedule_moves_the_booking_the_call_is_about(console, database, clock, world):
    a = world.a
    booking = make_booking(database, clock, a, days=3)
    call = make_task(
        database, clock, a.clinic.id, a.patients[0].id, reason=TaskReason.REMINDER_CALL, origin_booking_id=booking.id
    )
    client = console("operator")
    assert "Reschedule the booking" in text(_claim(client))
    bad = _attempt(client, call.id, outcome="rescheduled", **{"move.start_at": "2020-01-01T10:00"})
    assert bad.status_code == 422 and "in the past" in text(bad).split('id="move.start_at-error"')[1][:200]
    answer = _attempt(
        client,
        call.id,
        outcome="rescheduled",
        **{"move.start_at": "2026-03-09T11:00", "move.provider_id": str(a.providers[1].id)},
    )
    assert answer.status_code == 200, text(answer)
    moved = row(database, Booking, booking.id)
    assert moved.start_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC) and moved.provider_id == a.providers[1].id
    assert row(database, RecallTask, call.id).status is TaskStatus.CLOSED


def test_renew_and_release_the_patient(console, database, clock, task):
    client = console("operator")
    _claim(client)
    clock.advance(timedelta(minutes=10))
    renewed = post(client, f"/console/desk/tasks/{task.id}/renew", fetch=True)
    assert renewed.status_code == 200 and 'data-countdown="900"' in text(renewed)
    assert row(database, RecallTask, task.id).lease_expires_at == clock.now() + timedelta(minutes=15)
    released = post(client, f"/console/desk/tasks/{task.id}/release", fetch=True)
    assert released.status_code == 200 and "Take the next patient" in text(released)
    assert row(database, RecallTask, task.id).lease_holder_id is None
    again = post(client, f"/console/desk/tasks/{task.id}/renew", fetch=True)
    assert again.status_code == 409 and "not leased to you" in text(again)


def test_an_empty_queue_says_so(console):
    page = text(_claim(console("operator")))
    assert "The queue is empty: nobody may be called right now." in page


def test_another_clinics_task_is_not_found(console, database, clock, world):
    b = world.b
    theirs = make_task(database, clock, b.clinic.id, b.patients[0].id, leased_to=b.staff["operator"].id)
    client = console("operator")
    for action, data in (("attempts", {"outcome": "busy"}), ("renew", {}), ("release", {})):
        answer = post(client, f"/console/desk/tasks/{theirs.id}/{action}", data)
        assert answer.status_code == 404, action
    assert post(client, "/console/desk/tasks/99999999999/attempts", {"outcome": "busy"}).status_code == 404
    assert _all(database, ContactAttempt) == []
    assert row(database, RecallTask, theirs.id).lease_holder_id == b.staff["operator"].id


def test_the_front_desk_may_not_use_the_desk(console, task):
    client = console("frontdesk")
    for path in ("/console/desk/", "/console/desk/callbacks", "/console/desk/attempts", "/console/desk/earnings"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/console/desk/next").status_code == 403
    assert post(client, f"/console/desk/tasks/{task.id}/attempts", {"outcome": "busy"}).status_code == 403


def test_a_manager_may_work_the_queue_too(console, database, task):
    client = console("manager")
    assert "Astrid Andersson" in text(_claim(client))
    assert _attempt(client, task.id, outcome="voicemail").status_code == 200
    assert row(database, RecallTask, task.id).attempt_count == 1


def test_without_script_the_forms_answer_whole_pages(console, task):
    client = console("operator")
    answer = post(client, "/console/desk/next")
    assert answer.status_code == 200 and "<html" in text(answer) and "Astrid Andersson" in text(answer)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pl", "Weź następnego pacjenta"),
        ("ru", "Взять следующего пациента"),
        ("sv", "Ta nästa patient"),
        ("zh", "领取下一位患者"),
    ],
)
def test_the_desk_speaks_the_members_language(console, database, world, task, language, words):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["operator"].id).language = language
        s.commit()
    client = console("operator")
    assert words in text(client.get("/console/desk/"))
    card = text(_claim(client))
    assert "Why in the queue" not in card and "Take the next patient" not in card


def test_the_card_shows_the_visit_the_task_came_from(console, database, clock, world, people):
    a = world.a
    with database.writer() as s:
        visit = check_in(
            s,
            clock,
            people["frontdesk"],
            patient_id=a.patients[1].id,
            provider_id=a.providers[1].id,
            service_id=a.services[0].id,
        )
        checkout(
            s,
            clock,
            people["frontdesk"],
            visit.id,
            CheckoutRequest(follow_up=FollowUp.UNDECIDED, note="will check the calendar"),
        )
    clock.advance(timedelta(days=35))  # Monday 6 April, 10:00 in Stockholm: the follow-up is due
    page = text(_claim(console("operator")))
    assert "Katarzyna Kowalska" in page and "From the visit" in page
    assert "Follow-up at checkout: Undecided" in page and "will check the calendar" in page
    assert "Dr. Piotr Zieliński" in page and "Mon 10:00" in page


def test_the_desk_says_when_tasks_closed_themselves_on_the_way(console, database, clock, world, task):
    a = world.a
    make_booking(database, clock, a)  # the first patient booked meanwhile: their win-back closes itself
    make_task(database, clock, a.clinic.id, a.patients[1].id, due_at=clock.now() + timedelta(seconds=1))
    clock.advance(timedelta(seconds=2))
    page = text(_claim(console("operator")))
    assert "1 task closed itself on the way" in page and "Katarzyna Kowalska" in page
    assert row(database, RecallTask, task.id).status is TaskStatus.WON


def test_times_are_typed_in_local_time_across_the_summer_time_change(console, database, world, task):
    client = console("operator")
    _claim(client)
    # Stockholm moves to UTC+2 on 29 March 2026: 10:00 on the 30th is 08:00 UTC, not 09:00.
    answer = _attempt(client, task.id, outcome="booked", **{"booking.start_at": "2026-03-30T10:00"})
    assert answer.status_code == 200, text(answer)
    (booking,) = _all(database, Booking, Booking.recall_task_id == task.id)
    assert booking.start_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert (booking.provider_id, booking.service_id) == (world.a.providers[0].id, world.a.services[0].id)
