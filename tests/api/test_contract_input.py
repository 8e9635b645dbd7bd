"""What the API accepts, at its edges: birth dates, phone numbers, bodies, numbers, and the ``from``/``to`` of lists.

* A birth date is any real day from 1900-01-01 to today, today as the clinic's calendar has it.
* A phone number is written with digits, spaces, a leading + and ( ) - . only: phonenumbers would read letters as
  keypad digits and drop trailing junk, storing somebody else's number.
* A write's body is JSON: any other body is a 415, no body where one is needed a 400; a number given as a string is
  a 422 like a string for an integer or a boolean.
* Every list's ``from``/``to`` takes a day (the clinic's local day, both ends whole) or an instant (``to`` excluded).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import pytest
import sqlalchemy as sa

from recall.clinic.patients import Patient
from recall.clinic.staff import ApiToken
from recall.queue.tasks import RecallTask
from recall.web.common import StrictBoolean, StrictDecimal, StrictFloat
from tests.api.checks import assert_error, assert_rejected, nothing_written
from tests.api.valid import VALID, Scene, plan
from tests.factories import World, api_as

# --- 5. birth dates ------------------------------------------------------------------------------------------------


def _new_patient(born: str | None) -> dict[str, Any]:
    return {"full_name": "Ingrid Berg", "phone": "070-111 22 33", "date_of_birth": born}


@pytest.mark.parametrize("born", ["1955-04-03", "1900-01-01", "1969-12-31", "2026-03-02"])
def test_a_patient_born_on_any_real_day_from_1900_to_today_is_recorded(client, world, born):
    desk = api_as(client, world.a, "frontdesk")
    created = desk.post("/patients", json=_new_patient(born))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["date_of_birth"] == born
    fetched = desk.get(f"/patients/{created.get_json()['id']}").get_json()
    assert fetched["date_of_birth"] == born


@pytest.mark.parametrize("born", ["1899-12-31", "1066-10-14", "2026-03-03", "2199-01-01"])
def test_a_birth_date_before_1900_or_after_today_is_a_422_and_nothing_is_written(client, database, world, born):
    desk = api_as(client, world.a, "frontdesk")
    with nothing_written(database):
        response = desk.post("/patients", json=_new_patient(born))
    assert_rejected(response, "date_of_birth")
    patient = world.a.patients[0].id
    with nothing_written(database):
        response = desk.patch(f"/patients/{patient}", json={"date_of_birth": born})
    assert_rejected(response, "date_of_birth")


def test_today_is_the_clinics_today_not_utcs(client, clock, world):
    """At 23:30 UTC on 2 March it is already 3 March in Stockholm: a baby born there today is not in the future."""
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    desk = api_as(client, world.a, "frontdesk")
    assert desk.post("/patients", json=_new_patient("2026-03-03")).status_code == 201
    assert_rejected(desk.post("/patients", json=_new_patient("2026-03-04")), "date_of_birth")


def test_other_days_keep_their_bounds(client, world, v):
    response = api_as(client, world.a, "frontdesk").post(
        f"/visits/{v.visit}/checkout", json={"follow_up": "declined", "follow_up_date": "1955-04-03"}
    )
    assert_rejected(response, "follow_up_date")


def test_every_date_bound_is_in_the_openapi_document(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    born = schemas["PatientCreate"]["properties"]["date_of_birth"]
    assert born["x-minimum"] == "1900-01-01" and born["x-maximum"] == "today"
    assert "clinic's time zone" in born["description"]
    assert schemas["PatientUpdate"]["properties"]["date_of_birth"]["x-minimum"] == "1900-01-01"
    follow_up = schemas["Checkout"]["properties"]["follow_up_date"]
    assert (follow_up["x-minimum"], follow_up["x-maximum"]) == ("1970-01-01", "2200-12-31")
    start = schemas["BookingCreate"]["properties"]["start_at"]
    assert start["x-minimum"].startswith("1970-01-01") and start["x-maximum"].startswith("2200-12-31")


# --- 6. phones -----------------------------------------------------------------------------------------------------

JUNK_PHONES = [
    "12345abc",
    "0701234567abc",
    "070-123 45 67 x",
    "+46 70 123 45 67 ext. 12",
    "1-800-FLOWERS",
    "0701234567;",
    "070 123 45 67#",
    "070123456７",
    "+46+701234567",
    "070\t1234567",
]


@pytest.mark.parametrize("raw", JUNK_PHONES)
def test_a_phone_with_letters_or_junk_is_a_422_on_phone_and_nothing_is_stored(client, database, world, raw):
    desk = api_as(client, world.a, "frontdesk")
    patient = world.a.patients[0].id
    for method, url in (("POST", "/patients"), ("PATCH", f"/patients/{patient}")):
        with nothing_written(database):
            response = desk._call(method, url, json={"full_name": "Nils Nilsson", "phone": raw})
        assert_rejected(response, "phone")
    assert_rejected(desk.get("/patients", query_string={"phone": raw}), "phone")


def test_letters_never_become_keypad_digits(client, database, world):
    desk = api_as(client, world.a, "frontdesk")
    desk.post("/patients", json={"full_name": "Nils Nilsson", "phone": "12345abc"})
    with database.reader() as s:
        stored = s.scalars(sa.select(Patient.phone_e164)).all()
    assert not any(p.endswith("12345222") for p in stored), stored


@pytest.mark.parametrize(
    "raw,e164",
    [
        ("(070) 123-45.67", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        (" 070-123 45 67 ", "+46701234567"),
        ("+48 22 123 45 67", "+48221234567"),
    ],
)
def test_digits_spaces_a_leading_plus_and_separators_are_a_phone_number(client, world, raw, e164):
    created = api_as(client, world.a, "frontdesk").post("/patients", json={"full_name": "Nils Nilsson", "phone": raw})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phone"] == e164


# --- 7. bodies -----------------------------------------------------------------------------------------------------

WITH_BODY = [pytest.param(name, id=name) for name in VALID]


def _as(client: Any, world: World, name: str, v: Scene) -> tuple[Any, str, str, Any]:
    method, path, body, who = VALID[name]
    return api_as(client, world.a, who), method, path(v), body(v)


@pytest.mark.parametrize("name", WITH_BODY)
def test_a_body_sent_as_text_or_as_a_form_is_a_415_and_nothing_changes(client, database, world, v, name):
    api, method, url, body = _as(client, world, name, v)
    form = {k: str(x) for k, x in body.items() if not isinstance(x, (dict, list))} if isinstance(body, dict) else {}
    for kwargs in (
        {"data": json.dumps(body), "content_type": "text/plain"},
        {"data": form or {"x": "1"}},  # the test client sends a dict as a form
        {"data": b"<xml/>", "content_type": "application/xml"},
    ):
        with nothing_written(database):
            response = api._call(method, url, **kwargs)
        body_back = assert_error(response, 415, "unsupported_media_type")
        assert "application/json" in body_back["message"], body_back
        assert "body" in body_back.get("fields", {}), body_back


@pytest.mark.parametrize("name", WITH_BODY)
def test_a_write_without_its_body_is_a_400_naming_the_body(client, database, world, v, name):
    api, method, url, _body = _as(client, world, name, v)
    for kwargs in ({}, {"content_type": "application/json"}):
        with nothing_written(database):
            response = api._call(method, url, **kwargs)
        assert_rejected(response, "body", status=400)


def test_no_token_is_issued_for_a_request_without_a_body(client, database, world, v):
    before = _tokens(database)
    response = api_as(client, world.a, "manager").post(f"/staff/{v.staff['operator']}/tokens")
    assert_rejected(response, "body", status=400)
    assert _tokens(database) == before
    issued = api_as(client, world.a, "manager").post(f"/staff/{v.staff['operator']}/tokens", json={})
    assert issued.status_code == 201 and _tokens(database) == before + 1


def _tokens(database: Any) -> int:
    with database.reader() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) or 0


def test_a_json_body_with_a_charset_or_a_json_suffix_type_is_read(client, world, v):
    api = api_as(client, world.a, "operator")
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = api.patch(f"/patients/{v.patient}", data='{"language": "pl"}', content_type=content_type)
        assert response.status_code == 200 and response.get_json()["language"] == "pl", response.get_json()


STRING_NUMBERS = [
    ("PUT /clinic/pay-plan", lambda v: plan(recall_multiplier="2.5"), "recall_multiplier"),
    ("PUT /clinic/pay-plan", lambda v: plan(recall_multiplier="2"), "recall_multiplier"),
    ("PATCH /services/<id>", lambda v: {"value_weight": "2.5"}, "value_weight"),
    (
        "PUT /clinic/reminder-policy",
        lambda v: {"steps": [], "rate_limits": {"sms_per_second": "2.5"}},
        "rate_limits.sms_per_second",
    ),
    (
        "PUT /clinic/reminder-policy",
        lambda v: {"steps": [], "rate_limits": {"calls_per_second": True}},
        "rate_limits.calls_per_second",
    ),
]


@pytest.mark.parametrize("name,body,field", STRING_NUMBERS, ids=[f"{n} {f}" for n, _b, f in STRING_NUMBERS])
def test_a_number_given_as_a_string_is_a_422(client, database, world, v, name, body, field):
    method, path, _valid, who = VALID[name]
    with nothing_written(database):
        response = api_as(client, world.a, who)._call(method, path(v), json=body(v))
    assert_rejected(response, field)


def _loose_fields(schema: ma.Schema, where: str) -> list[str]:
    """Numbers and booleans in ``schema`` that would take a string ("2.5", "true") for a value."""
    loose = []
    for name, field in schema.fields.items():
        here = f"{where}.{name}"
        while isinstance(field, ma.fields.List):
            field, here = field.inner, here + "[]"
        if isinstance(field, ma.fields.Nested):
            loose += _loose_fields(field.schema, here)
        elif (
            isinstance(field, ma.fields.Boolean)
            and not isinstance(field, StrictBoolean)
            or isinstance(field, ma.fields.Integer)
            and not field.strict
            or isinstance(field, ma.fields.Float)
            and not isinstance(field, StrictFloat)
            or isinstance(field, ma.fields.Decimal)
            and not isinstance(field, StrictDecimal)
        ):
            loose.append(here)
    return loose


def test_every_number_and_boolean_in_every_body_takes_only_its_json_type(_shared_app):
    app, _config = _shared_app
    loose, bodies = [], 0
    for blueprint in app.blueprints.values():
        for endpoint, docs in getattr(blueprint, "_docs", {}).items():
            for method, doc in docs.items():
                for param in doc.get("arguments", {}).get("parameters", []) if method != "parameters" else []:
                    if param["in"] == "json":
                        schema = param["schema"]() if isinstance(param["schema"], type) else param["schema"]
                        bodies += 1
                        loose += _loose_fields(schema, f"{method.upper()} {blueprint.name}.{endpoint}")
    assert bodies >= 20 and loose == []


def test_the_same_numbers_as_json_numbers_are_accepted_and_kept_exact(client, world, v):
    manager = api_as(client, world.a, "manager")
    saved = manager.put("/clinic/pay-plan", json=plan(recall_multiplier=1.1))
    assert saved.status_code == 200 and saved.get_json()["recall_multiplier"] == 1.1, saved.get_json()
    assert manager.patch(f"/services/{v.service}", json={"value_weight": 2.5}).get_json()["value_weight"] == 2.5
    policy = manager.put("/clinic/reminder-policy", json={"steps": [], "rate_limits": {"sms_per_second": 2.5}})
    assert policy.status_code == 200, policy.get_json()
    assert policy.get_json()["policy"]["rate_limits"]["sms_per_second"] == 2.5


# --- 8. from and to ------------------------------------------------------------------------------------------------

# Every list with from/to, as (path, role, from key, to key).
RANGED = [
    ("/bookings", "operator", "from", "to"),
    ("/visits", "frontdesk", "from", "to"),
    ("/reminders", "frontdesk", "from", "to"),
    ("/recall-tasks/{held}/attempts", "operator", "from", "to"),
    ("/ledger", "manager", "from", "to"),
    ("/recall-queue/kpis", "manager", "from", "to"),
    ("/recall-tasks", "operator", "due_from", "due_to"),
]
RANGED_IDS = [r[0] for r in RANGED]


@pytest.mark.parametrize("path,who,lo,hi", RANGED, ids=RANGED_IDS)
def test_every_list_takes_a_day_or_an_instant_as_from_and_to(client, world, v, path, who, lo, hi):
    api = api_as(client, world.a, who)
    url = path.format(held=v.held)
    for start, end in (
        ("2026-03-01", "2026-03-07"),
        ("2026-03-01T00:00:00+01:00", "2026-03-07T12:00:00Z"),
        ("2026-03-01", "2026-03-07T12:00:00+01:00"),
        ("2026-03-02", "2026-03-02"),
    ):
        response = api.get(url, query_string={lo: start, hi: end})
        assert response.status_code == 200, (start, end, response.get_json())


@pytest.mark.parametrize("path,who,lo,hi", RANGED, ids=RANGED_IDS)
def test_a_to_before_from_or_a_naive_time_is_a_422_on_that_field(client, world, v, path, who, lo, hi):
    api = api_as(client, world.a, who)
    url = path.format(held=v.held)
    assert_rejected(api.get(url, query_string={lo: "2026-03-07", hi: "2026-03-01"}), hi)
    assert_rejected(api.get(url, query_string={lo: "2026-03-07T00:00:00Z", hi: "2026-03-06"}), hi)
    assert_rejected(api.get(url, query_string={lo: "2026-03-01T10:00:00", hi: "2026-03-07"}), lo)
    assert_rejected(api.get(url, query_string={lo: "last week", hi: "2026-03-07"}), lo)


def _booking_at(client: Any, world: World, v: Scene, start: datetime) -> int:
    response = api_as(client, world.a, "operator").post(
        "/bookings",
        json={"patient_id": v.patient2, "service_id": v.service, "channel": "phone", "start_at": start.isoformat()},
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_a_day_is_the_clinics_local_day_whole_and_an_instant_to_is_excluded(client, world, v):
    # 23:30 UTC on 9 March is 00:30 on 10 March in Stockholm.
    late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    booking = _booking_at(client, world, v, late)
    api = api_as(client, world.a, "operator")

    def found(**query: str) -> bool:
        return booking in [b["id"] for b in api.get("/bookings", query_string=query).get_json()["items"]]

    assert found(**{"from": "2026-03-10", "to": "2026-03-10"})
    assert not found(**{"from": "2026-03-09", "to": "2026-03-09"})
    assert found(**{"from": "2026-03-09T23:30:00Z", "to": "2026-03-09T23:30:01Z"})
    assert not found(**{"from": "2026-03-09T00:00:00Z", "to": "2026-03-09T23:30:00Z"})
    assert found(**{"from": "2026-03-10"}) and not found(to="2026-03-09")
    assert found(**{"from": "2026-03-10T00:30:00+01:00", "to": "2026-03-10"})


def test_the_recall_queue_reads_due_from_and_due_to_the_same_way(client, database, world, v):
    with database.reader() as s:
        due = s.scalar(sa.select(RecallTask.due_at).where(RecallTask.id == v.task))
    api = api_as(client, world.a, "operator")
    day = due.astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()

    def found(**query: str) -> bool:
        return v.task in [t["id"] for t in api.get("/recall-tasks", query_string=query).get_json()["items"]]

    assert found(due_from=day, due_to=day)
    assert not found(due_to=(datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat())
    assert not found(due_from=(due + timedelta(seconds=1)).isoformat())
    assert not found(due_to=due.isoformat()) and found(due_to=(due + timedelta(seconds=1)).isoformat())


def test_the_range_rule_is_documented_once_and_every_from_and_to_points_at_it(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "## Ranges: `from` and `to`" in spec["info"]["description"]
    seen = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for param in op.get("parameters", []):
                if param["in"] == "query" and param["name"] in ("from", "to", "due_from", "due_to"):
                    short = path.removeprefix("/api/v1").replace("{task_id}", "{held}")
                    seen.append(short)
                    assert param["schema"]["type"] == "string", (path, param)
                    rule = (
                        "a day (YYYY-MM-DD) in the clinic's time zone, or an ISO 8601 instant"
                        if short in RANGED_IDS
                        else "a day (YYYY-MM-DD) in the clinic's time zone"
                    )
                    assert rule in param.get("description", param["schema"].get("description", "")), (path, param)
    assert set(RANGED_IDS) <= set(seen), seen
