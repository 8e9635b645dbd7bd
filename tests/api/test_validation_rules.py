"""Refusals that need more than one bad body to show: bodies that are not JSON
or not an object, checkout and on-behalf-of rules, phone numbers, and query
arguments.

Like the table in test_validation.py, each refusal is a 400 or a 422 in the one
error shape naming the offending field, and nothing is written.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.api.checks import assert_rejected, nothing_written
from tests.api.valid import VALID
from tests.factories import api_as

# --- cases that need a little more than one body --------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_400_naming_the_body(client, database, world, v):
    api = api_as(client, world.a, "frontdesk")
    for raw in ['{"full_name": "Nils", "phone": ', "{not json", "full_name=Nils&phone=0701234567", "\x00\xff"]:
        with nothing_written(database):
            response = client.post("/api/v1/patients", data=raw, content_type="application/json", headers=api.headers)
        assert_rejected(response, "body", status=400)


@pytest.mark.parametrize(
    "body",
    [[], [{"full_name": "Nils", "phone": "0701234567"}], "Nils", 42, True],
    ids=["an empty array", "an array of the object", "a string", "a number", "true"],
)
def test_a_json_body_that_is_not_an_object_is_a_422_naming_the_body(client, database, world, v, body):
    with nothing_written(database):
        response = api_as(client, world.a, "frontdesk").post("/patients", json=body)
    assert_rejected(response, "body")


def test_a_request_missing_every_required_field_names_them_all(client, database, world, v):
    required = {
        "/patients": {"full_name", "phone"},
        "/providers": {"name", "specialty"},
        "/services": {"name"},
        "/staff": {"name", "role"},
        "/bookings": {"patient_id", "start_at", "channel"},
        "/visits": {"patient_id"},
        f"/visits/{v.visit}/checkout": {"follow_up"},
        f"/bookings/{v.booking}/move": {"start_at"},
        "/earnings/what-if": {"from", "to", "plan"},
    }
    manager = api_as(client, world.a, "manager")
    for url, names in required.items():
        with nothing_written(database):
            body = assert_rejected(manager.post(url, json={}), sorted(names)[0])
        assert names <= set(body["fields"]), (url, body["fields"])
    with nothing_written(database):
        body = assert_rejected(manager.put("/clinic/pay-plan", json={}), "recall_multiplier")
    assert {"frontdesk_base_cents", "operator_base_cents", "recall_multiplier"} <= set(body["fields"])


def test_checkout_undecided_needs_a_date_when_the_service_has_no_default_interval(client, database, world, v):
    desk = api_as(client, world.a, "frontdesk")
    for follow_up in ("undecided", "declined"):
        with nothing_written(database):
            response = desk.post(f"/visits/{v.ent_visit}/checkout", json={"follow_up": follow_up})
        assert_rejected(response, "follow_up_date")
    with nothing_written(database):
        response = desk.post(f"/visits/{v.bare_visit}/checkout", json={"follow_up": "undecided"})
    assert_rejected(response, "follow_up_date")
    # With a date the same checkout goes through.
    done = desk.post(f"/visits/{v.ent_visit}/checkout", json={"follow_up": "undecided", "follow_up_date": "2026-04-01"})
    assert done.status_code == 200 and done.json["recall_task"]["follow_up_date"] == "2026-04-01"


def test_a_desk_booking_naming_neither_provider_nor_service_needs_a_visit_that_has_one(client, database, world, v):
    desk = api_as(client, world.a, "frontdesk")
    body = {"follow_up": "booked", "booking": {"start_at": v.later(days=30)}}
    with nothing_written(database):
        response = desk.post(f"/visits/{v.bare_visit}/checkout", json=body)
    assert_rejected(response, ("booking.service_id", "booking.provider_id"))
    # A visit with a provider and service lends them to its follow-up booking.
    done = desk.post(f"/visits/{v.visit}/checkout", json=body)
    assert done.status_code == 200, done.get_json()
    assert (done.json["booking"]["provider_id"], done.json["booking"]["service_id"]) == (v.provider, v.service)


def test_a_refused_checkout_leaves_the_visit_checked_in(client, world, v):
    desk = api_as(client, world.a, "frontdesk")
    response = desk.post(
        f"/visits/{v.visit}/checkout",
        json={"follow_up": "booked", "booking": {"start_at": v.ago(days=1), "service_id": v.service}},
    )
    assert_rejected(response, "booking.start_at")
    visit = desk.get(f"/visits/{v.visit}").json
    assert (visit["status"], visit["follow_up"], visit["follow_up_booking_id"]) == ("checked_in", None, None)


MANAGER_ON_BEHALF = [
    ("a front-desk admin for a phone booking", "phone", lambda v: v.staff["frontdesk"]),
    ("an operator for an in-person booking", "in_person", lambda v: v.staff["operator"]),
    ("the manager for a phone booking", "phone", lambda v: v.staff["manager"]),
    ("an operator for an online booking", "online", lambda v: v.staff["operator"]),
    ("another clinic's operator", "phone", lambda v: v.b_operator),
    ("a staff member who does not exist", "phone", lambda v: 999_999),
]


@pytest.mark.parametrize("channel,staff", [pytest.param(c, s, id=n) for n, c, s in MANAGER_ON_BEHALF])
def test_a_manager_booking_on_behalf_of_the_wrong_person_is_422(client, database, world, v, channel, staff):
    body = {**VALID["POST /bookings"][2](v), "channel": channel, "on_behalf_of_staff_id": staff(v)}
    with nothing_written(database):
        response = api_as(client, world.a, "manager").post("/bookings", json=body)
    assert_rejected(response, "on_behalf_of_staff_id")


def test_a_manager_cannot_credit_an_inactive_operator(client, database, world, v):
    manager = api_as(client, world.a, "manager")
    assert manager.patch(f"/staff/{v.staff['operator2']}", json={"active": False}).status_code == 200
    body = {**VALID["POST /bookings"][2](v), "on_behalf_of_staff_id": v.staff["operator2"]}
    with nothing_written(database):
        response = manager.post("/bookings", json=body)
    assert_rejected(response, "on_behalf_of_staff_id")
    # The active one may be credited.
    body["on_behalf_of_staff_id"] = v.staff["operator"]
    made = manager.post("/bookings", json=body)
    assert made.status_code == 201 and made.json["credited_staff_id"] == v.staff["operator"]


@pytest.mark.parametrize(
    "who,channel,staff",
    [
        ("operator", "phone", "operator"),
        ("operator", "phone", "operator2"),
        ("frontdesk", "in_person", "frontdesk"),
        ("frontdesk", "in_person", "frontdesk2"),
    ],
)
def test_a_non_manager_naming_on_behalf_of_is_403(client, database, world, v, who, channel, staff):
    body = {**VALID["POST /bookings"][2](v), "channel": channel, "on_behalf_of_staff_id": v.staff[staff]}
    with nothing_written(database):
        response = api_as(client, world.a, who).post("/bookings", json=body)
    assert response.status_code == 403, response.get_json()
    assert response.json["error"] == "forbidden"


def test_a_manager_cannot_deactivate_themselves(client, database, world, v):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").patch(f"/staff/{v.staff['manager']}", json={"active": False})
    assert_rejected(response, "active")


# --- phone numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,e164",
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("+48 512 345 678", "+48512345678"),
        ("0048 512 345 678", "+48512345678"),
        ("+7 912 345-67-89", "+79123456789"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+1 (650) 253-0000", "+16502530000"),
    ],
)
def test_a_phone_number_is_stored_in_e164(client, world, v, raw, e164):
    desk = api_as(client, world.a, "frontdesk")
    made = desk.post("/patients", json={"full_name": "Zoë Ørsted", "phone": raw})
    assert made.status_code == 201, made.get_json()
    assert made.json["phone"] == e164
    assert desk.get(f"/patients/{made.json['id']}").json["phone"] == e164


def test_a_national_number_is_read_with_the_clinics_region(client, world, v):
    manager = api_as(client, world.a, "manager")
    assert manager.patch("/clinic", json={"phone_region": "pl"}).json["phone_region"] == "PL"
    made = manager.post("/patients", json={"full_name": "Katarzyna Nowak", "phone": "512 345 678"})
    assert made.status_code == 201 and made.json["phone"] == "+48512345678"


INVALID_PHONES = [
    "12345",
    "070-123",
    "+46 70 123",
    "+999 123 456 789",
    "abc",
    "+48 000 000 000",
    "070-123 45 67 89 00",
    "---",
]


@pytest.mark.parametrize("raw", INVALID_PHONES)
def test_an_invalid_phone_number_is_a_422_saying_it_is_not_valid(client, database, world, v, raw):
    desk = api_as(client, world.a, "frontdesk")
    for method, url in (("POST", "/patients"), ("PATCH", f"/patients/{v.patient}")):
        with nothing_written(database):
            response = desk._call(method, url, json={"full_name": "Nils Nilsson", "phone": raw})
        body = assert_rejected(response, "phone")
        said = " ".join([body["message"], *body["fields"]["phone"]])
        assert re.search(r"not a (valid )?phone number", said), said


def test_searching_patients_by_phone_reads_the_number_like_a_stored_one(client, database, world, v):
    operator = api_as(client, world.a, "operator")
    found = operator.get("/patients", query_string={"phone": "070 123 45 67"})
    assert found.status_code == 200 and [p["phone"] for p in found.json["items"]] == ["+46701234567"]
    assert_rejected(operator.get("/patients", query_string={"phone": "not a phone"}), "phone")


# --- query arguments --------------------------------------------------------------------------------------------------

LISTS = ["/patients", "/providers", "/services", "/staff", "/visits", "/bookings", "/recall-tasks", "/ledger"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "args,field",
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1000}, "page_size"),
        ({"page_size": 201}, "page_size"),
        ({"page_size": "all"}, "page_size"),
    ],
    ids=lambda x: str(x) if not isinstance(x, dict) else "&".join(f"{k}={x[k]}" for k in x),
)
def test_paging_arguments_out_of_range_are_422(client, database, world, v, path, args, field):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").get(path, query_string=args)
    assert_rejected(response, field)


QUERY_CASES = [
    ("/bookings", {"from": "2026-03-10T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ("/bookings", {"from": "2026-03-10T00:00:00Z", "to": "2026-03-10T00:00:00Z"}, "to"),
    ("/bookings", {"from": "2026-03-01T00:00:00"}, "from"),
    ("/bookings", {"to": "2026-13-01T00:00:00Z"}, "to"),
    ("/bookings", {"status": "lost"}, "status"),
    ("/bookings", {"channel": "fax"}, "channel"),
    ("/bookings", {"patient_id": "abc"}, "patient_id"),
    ("/visits", {"from": "2026-03-10T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ("/visits", {"from": "yesterday"}, "from"),
    ("/visits", {"status": "gone"}, "status"),
    ("/recall-tasks", {"status": "pending"}, "status"),
    ("/recall-tasks", {"due_from": "2026-03-10T00:00:00Z", "due_to": "2026-03-01T00:00:00Z"}, "due_to"),
    ("/recall-tasks", {"due_from": "soon"}, "due_from"),
    ("/recall-tasks", {"service_id": "ent"}, "service_id"),
    ("/patients", {"language": "de"}, "language"),
    ("/patients", {"q": ""}, "q"),
    ("/patients", {"q": "q" * 101}, "q"),
    ("/staff", {"role": "boss"}, "role"),
    ("/staff", {"active": "perhaps"}, "active"),
    ("/providers", {"active": "perhaps"}, "active"),
    ("/services", {"active": "sometimes"}, "active"),
    ("/ledger", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
    ("/ledger", {"from": "2026-02-30"}, "from"),
    ("/ledger", {"staff_id": "abc"}, "staff_id"),
    ("/ledger", {"kind": "bonus"}, "kind"),
    ("/earnings/me", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
    ("/earnings/me", {"from": "2026-03-01"}, "to"),
    ("/earnings/me", {"to": "2026-03-31"}, "from"),
    ("/earnings/me", {"from": "March"}, "from"),
    ("/earnings/me", {"from": "2023-01-01", "to": "2026-01-01"}, "to"),
    ("/earnings/team", {"from": "2026-03-01T00:00:00Z", "to": "2026-03-31"}, "from"),
    ("/earnings/team", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
]


@pytest.mark.parametrize(
    "path,args,field", [pytest.param(p, a, f, id=f"{p}?{urlencode(a, safe=':')}") for p, a, f in QUERY_CASES]
)
def test_a_bad_query_argument_is_422_naming_it(client, database, world, v, path, args, field):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").get(path, query_string=args)
    assert_rejected(response, field)


def test_another_staff_members_earnings_check_their_range_too(client, world, v):
    response = api_as(client, world.a, "manager").get(
        f"/earnings/staff/{v.staff['operator']}", query_string={"from": "2026-03-10", "to": "2026-03-01"}
    )
    assert_rejected(response, "to")
