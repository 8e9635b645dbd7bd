"""Reminders and the front desk's reminder calls through the HTTP API: what each list shows, recording a call,
and every refusal in the one error shape, naming its field and writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.factories import api_as, future, iso, make_booking, make_call

REMINDER_FIELDS = {
    "id",
    "booking_id",
    "patient_id",
    "channel",
    "status",
    "send_at",
    "due_at",
    "sent_at",
    "attempts",
    "provider_sid",
    "provider_status",
    "error_code",
    "outcome",
    "fallback",
    "fallback_of_id",
    "policy_version",
    "offset_minutes",
    "task_id",
    "call_outcome",
    "call_attempts",
    "called_by_id",
    "called_at",
    "handled_at",
    "moved_reason",
    "planned_channel",
}


@pytest.fixture
def call(database, clock, world) -> int:
    """An open front-desk call about the first patient's visit in three days."""
    return make_call(database, clock, make_booking(database, clock, world.a, days=3, hour=12).id)


# --- reminders ----------------------------------------------------------------------------------------------------


def test_every_staff_member_sees_the_reminders_and_their_delivery_state(client, database, clock, world):
    booking = make_booking(database, clock, world.a, days=3, hour=12).id
    visit = future(clock, days=3, hour=12)
    for who in ("operator", "frontdesk", "manager"):
        listed = api_as(client, world.a, who).get("/reminders")
        assert listed.status_code == 200, listed.get_json()
        assert [(r["channel"], r["status"], r["send_at"]) for r in listed.json["items"]] == [
            ("sms", "planned", (visit - timedelta(hours=24)).isoformat()),
            ("voice", "planned", (visit - timedelta(hours=2)).isoformat()),
        ]
    sms = listed.json["items"][0]
    assert set(sms) == REMINDER_FIELDS, "ids and delivery state only: no message text, no call note"
    assert (sms["booking_id"], sms["attempts"], sms["provider_sid"], sms["call_attempts"]) == (booking, 0, None, 0)
    one = api_as(client, world.a, "operator").get(f"/reminders/{sms['id']}")
    assert one.status_code == 200 and one.json == sms


def test_the_reminders_filter_by_booking_patient_status_channel_and_send_time(client, database, clock, world):
    first, second = (
        make_booking(database, clock, world.a, days=3, hour=12).id,
        make_booking(database, clock, world.a, days=5, hour=12, patient_id=world.a.patients[1].id).id,
    )
    manager = api_as(client, world.a, "manager")

    def ids(**query):
        response = manager.get("/reminders", query_string=query)
        assert response.status_code == 200, response.get_json()
        return [(r["booking_id"], r["channel"]) for r in response.json["items"]]

    assert ids(booking_id=second) == [(second, "sms"), (second, "voice")]
    assert ids(patient_id=world.a.patients[0].id) == [(first, "sms"), (first, "voice")]
    assert ids(channel="voice") == [(first, "voice"), (second, "voice")]
    assert ids(status="sent") == []
    visit = future(clock, days=3, hour=12)
    assert ids(**{"from": iso(visit - timedelta(hours=2)), "to": iso(visit + timedelta(days=1))}) == [(first, "voice")]
    page = manager.get("/reminders", query_string={"page": 2, "page_size": 3}).json
    assert (len(page["items"]), page["page"], page["page_size"], page["total"], page["pages"]) == (1, 2, 3, 4, 2)


@pytest.mark.parametrize(
    "query,field",
    [
        ({"from": "2026-03-10T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "2026-03-01T00:00:00"}, "from"),
        ({"status": "lost"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"booking_id": "abc"}, "booking_id"),
        ({"page_size": 201}, "page_size"),
    ],
)
def test_a_bad_query_on_the_reminders_is_422_naming_it(client, database, world, query, field):
    with nothing_written(database):
        assert_rejected(api_as(client, world.a, "manager").get("/reminders", query_string=query), field)


def test_another_clinics_reminders_and_calls_are_never_visible(client, database, clock, world, call):
    theirs = make_call(database, clock, make_booking(database, clock, world.b, days=3, hour=12).id)
    desk = api_as(client, world.a, "frontdesk")
    assert theirs not in [r["id"] for r in desk.get("/reminders?page_size=200").json["items"]]
    assert [c["id"] for c in desk.get("/reminder-calls?state=all").json["items"]] == [call]
    assert_error(desk.get(f"/reminders/{theirs}"), 404, "not_found")
    with nothing_written(database):
        assert_error(desk.post(f"/reminder-calls/{theirs}/outcome", json={"outcome": "reached"}), 404, "not_found")


# --- the front desk's calls ---------------------------------------------------------------------------------------


def test_a_call_on_the_list_carries_what_the_desk_needs_to_make_it(client, clock, world, call):
    listed = api_as(client, world.a, "frontdesk").get("/reminder-calls")
    assert listed.status_code == 200, listed.get_json()
    visit, patient = future(clock, days=3, hour=12), world.a.patients[0]
    assert listed.json == {
        "page": 1,
        "page_size": 50,
        "total": 1,
        "pages": 1,
        "items": [
            {
                "id": call,
                "open": True,
                "offset_minutes": 60,
                "send_at": clock.now().isoformat(),
                "call_attempts": 0,
                "call_outcome": None,
                "called_by_id": None,
                "called_at": None,
                "handled_at": None,
                "call_note": None,
                "booking": {
                    "id": listed.json["items"][0]["booking"]["id"],
                    "start_at": visit.isoformat(),
                    "end_at": (visit + timedelta(minutes=30)).isoformat(),
                    "status": "booked",
                    "provider_id": None,
                    "service_id": world.a.services[0].id,
                },
                "patient": {
                    "id": patient.id,
                    "full_name": "Astrid Andersson",
                    "phone": "+46701234567",
                    "phone_invalid": False,
                    "language": "sv",
                    "timezone": None,
                },
            }
        ],
    }


def test_the_call_list_shows_open_calls_by_default_and_done_ones_on_request(client, database, clock, world, call):
    later = make_call(
        database, clock, make_booking(database, clock, world.a, days=5, hour=12, patient_id=world.a.patients[1].id).id
    )
    desk = api_as(client, world.a, "frontdesk")
    assert desk.post(f"/reminder-calls/{call}/outcome", json={"outcome": "reached"}).status_code == 200

    def ids(**query):
        response = desk.get("/reminder-calls", query_string=query)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.json["items"]]

    assert ids() == ids(state="open") == [later]
    assert ids(state="done") == [call]
    assert ids(state="all") == [call, later], "soonest visit first"
    assert ids(state="all", patient_id=world.a.patients[1].id) == [later]
    assert ids(state="all", page=2, page_size=1) == [later]
    assert_rejected(desk.get("/reminder-calls", query_string={"state": "closed"}), "state")


def test_recording_an_outcome_answers_with_the_updated_call_and_applies_it(client, clock, world, call):
    desk = api_as(client, world.a, "frontdesk")
    done = desk.post(f"/reminder-calls/{call}/outcome", json={"outcome": "confirmed", "note": "will bring the X-ray"})
    assert done.status_code == 200, done.get_json()
    assert done.json["booking"]["status"] == "confirmed" and done.json["open"] is False
    assert (
        done.json["call_outcome"],
        done.json["call_attempts"],
        done.json["called_by_id"],
        done.json["handled_at"],
        done.json["call_note"],
    ) == ("confirmed", 1, world.a.staff["frontdesk"].id, clock.now().isoformat(), "will bring the X-ray")
    assert desk.get(f"/bookings/{done.json['booking']['id']}").json["status"] == "confirmed"
    [listed] = desk.get("/reminder-calls?state=done").json["items"]
    assert listed == done.json, "the answer has the shape of a list item"
    again = desk.post(f"/reminder-calls/{call}/outcome", json={"outcome": "reached"})
    assert assert_error(again, 409, "conflict")["fields"] == {"handled_at": ["this call is already done (confirmed)"]}


def test_a_rescheduled_call_moves_the_booking_to_the_new_time(client, clock, world, call):
    new_time = future(clock, days=4, hour=10)
    moved = api_as(client, world.a, "manager").post(
        f"/reminder-calls/{call}/outcome",
        json={"outcome": "rescheduled", "start_at": iso(new_time), "provider_id": world.a.providers[1].id},
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.json["booking"]["start_at"], moved.json["booking"]["provider_id"]) == (
        new_time.isoformat(),
        world.a.providers[1].id,
    )


def test_an_unanswered_call_stays_on_the_list(client, world, call):
    desk = api_as(client, world.a, "frontdesk")
    for _ in range(2):
        tried = desk.post(f"/reminder-calls/{call}/outcome", json={"outcome": "no_answer"})
        assert tried.status_code == 200 and tried.json["open"] is True
    assert [(c["id"], c["call_attempts"]) for c in desk.get("/reminder-calls").json["items"]] == [(call, 2)]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"outcome": "rescheduled"}, "start_at"),
        ({"outcome": "rescheduled", "start_at": "2026-03-01T09:00:00Z"}, "start_at"),
        ({"outcome": "reached", "start_at": "2026-03-09T09:00:00Z"}, "start_at"),
        ({"outcome": "cancelled", "provider_id": 1}, "provider_id"),
        ({"outcome": "superseded"}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": 1}, "outcome"),
        ({"outcome": ["reached"]}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "reached", "note": "x" * 1001}, "note"),
        ({"outcome": "reached", "note": 5}, "note"),
        ({"outcome": "reached", "note": "nul\x00inside"}, "note"),
        ({"outcome": "rescheduled", "start_at": "tomorrow"}, "start_at"),
        ({"outcome": "rescheduled", "start_at": "2026-03-09T09:00:00"}, "start_at"),
        ({"outcome": "rescheduled", "start_at": "2026-03-09T09:00:00Z", "provider_id": "2"}, "provider_id"),
        ({"outcome": "rescheduled", "start_at": "2026-03-09T09:00:00Z", "provider_id": 2**31}, "provider_id"),
        ({"outcome": "reached", "duration_seconds": 30}, "duration_seconds"),
        (["reached"], "body"),
    ],
)
def test_a_bad_call_record_is_refused_naming_the_field_and_writes_nothing(client, database, world, call, body, field):
    with nothing_written(database):
        response = api_as(client, world.a, "frontdesk").post(f"/reminder-calls/{call}/outcome", json=body)
    assert_rejected(response, field)


def test_a_body_that_is_not_json_is_a_400(client, database, world, call):
    with nothing_written(database):
        response = api_as(client, world.a, "frontdesk").post(
            f"/reminder-calls/{call}/outcome", data="outcome=reached", content_type="application/json"
        )
    assert_rejected(response, "body", status=400)


GARBAGE = [
    "page=abc",
    "page_size=10000000000000000000000000000",
    "booking_id=9223372036854775808",
    "patient_id=-1",
    "state=",
    "state=open&state=done",
    "from=9999-12-31T23:59:59Z",
    "to=0001-01-01T00:00:00Z",
    "from=2026-03-01T00:00:00%2B14:00",
    "status=%00",
    "channel=sms%F0%9F%A6%B7",
    "page=2147483648",
]


@pytest.mark.parametrize("path", ["/reminders", "/reminder-calls"])
def test_garbage_in_the_query_never_gets_a_5xx(client, world, call, path):
    manager = api_as(client, world.a, "manager")
    for query in GARBAGE:
        response = manager.get(f"{path}?{query}")
        assert response.status_code < 500, (query, response.status_code)
        if response.status_code >= 400:
            body = response.get_json()
            assert {"code", "status", "error", "message"} <= body.keys(), (query, body)
        else:
            assert isinstance(response.json["items"], list), query
