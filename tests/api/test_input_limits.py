"""Garbage, and inputs too large or too deep for the service: never a 5xx.

A sweep sends garbage to every endpoint that takes a body and asserts the
service never answers 5xx and every refusal is in the one error shape. Ids too
large for the database, JSON nested too deep and unusual Unicode are refused
cleanly or stored exactly; a refused request writes nothing.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from recall.clinic.patients import create_patient
from recall.common.actors import Actor
from recall.visits.bookings import BookingRequest, Channel, create_booking
from recall.visits.visits import check_in
from tests.api.checks import assert_rejected, nothing_written
from tests.api.valid import LONG, VALID
from tests.factories import actor_of, api_as, future, make_call, make_task

# --- the garbage sweep ------------------------------------------------------------------------------------------------

PATH_IDS = {
    "booking_id": "booking",
    "visit_id": "visit",
    "patient_id": "patient",
    "provider_id": "provider",
    "service_id": "service",
    "task_id": "task",
    "reminder_id": "call",
    "target_id": "target",
    "endpoint_id": "webhook_endpoint",
    "delivery_id": "delivery",
    "clinic_id": "clinic",
}
WEIRD: list[Any] = [
    None,
    "",
    " ",
    LONG,
    "Zoë Ørsted 张伟 Ёлка ąęł 🦷\u200b\u202e",
    "\x00",
    "nul\x00inside",
    "\ud800",
    "\uffff",
    0,
    -1,
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    -0.0,
    3.5,
    True,
    False,
    [],
    [None],
    {},
    {"$gt": ""},
    [[[[[]]]]],
    {"a": {"b": {"c": [1, "x", None]}}},
    "2026-03-09T09:00:00Z",
    "1970-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31",
    "0000-00-00",
]


def _write_endpoints(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods & {"POST", "PATCH", "PUT"}
    )


def _body_fields(spec: dict[str, Any], method: str, rule: str) -> dict[str, Any]:
    """The request body's properties from the OpenAPI document, nested schemas resolved."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
    operation = spec["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return _resolve(spec, content.get("schema", {})).get("properties", {})


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(spec, spec["components"]["schemas"][name])
    if "allOf" in schema:
        return _resolve(spec, schema["allOf"][0])
    return schema


def _random_json(rng: random.Random, depth: int = 0, keys: list[str] | None = None) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, rng.randrange(-(10**6), 10**6), rng.randrange(2**62, 2**70), -(10**25)])
    if kind == 3:
        return rng.choice([0.5, -1e-9, 1e300, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5):
        alphabet = 'abc XYZ 0123456789 +-:/.T Z ä ö ł ж 中 🦷 \u0301 \t\n"\\'
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 40, 300])))
    if kind == 6:
        return [_random_json(rng, depth + 1, keys) for _ in range(rng.randrange(4))]
    names = (keys or []) + ["x", "", "__class__", "id", "items"]
    return {rng.choice(names): _random_json(rng, depth + 1, keys) for _ in range(rng.randrange(1, 6))}


def _garbage(valid: dict[str, Any], fields: dict[str, Any], seed: str) -> Iterator[Any]:
    rng = random.Random(seed)
    names = sorted(set(fields) | set(valid))
    yield from (None, [], [valid], "garbage", 42, True, {"": None}, [[[[{}]]]], {n: {} for n in names})
    yield {n: None for n in names}
    yield {n: [] for n in names}
    yield {n: LONG for n in names}
    yield {n: 10**30 for n in names}
    for name in names:
        for value in WEIRD:
            yield {**valid, name: value}
        if isinstance(valid.get(name), dict):  # a nested object: garbage inside it too
            for inner in sorted(valid[name]):
                for value in (
                    None,
                    LONG,
                    10**30,
                    2**63,
                    "\ud800",
                    "\x00",
                    [],
                    {},
                    "9999-12-31T23:59:59Z",
                    "0001-01-01T00:00:00Z",
                    "9999-12-31",
                ):
                    yield {**valid, name: {**valid[name], inner: value}}
        if isinstance(valid.get(name), list) or name == "service_rates":
            yield {**valid, name: [[]]}
            yield {**valid, name: [None, 1, "x", {}]}
            yield {**valid, name: [{"service_id": 10**30, "role": "operator", "amount_cents": 10**30}]}
            yield {**valid, name: [{"service_id": 2**63, "role": "operator", "amount_cents": 1}]}
            yield {**valid, name: [{"service_id": "\x00", "role": ["operator"], "amount_cents": {}}] * 3}
    for _ in range(40):
        yield _random_json(rng, keys=names)
        yield {**valid, **{n: _random_json(rng, 1, names) for n in rng.sample(names, min(len(names), 3))}}


def _describe(payload: Any, valid: dict[str, Any]) -> str:
    """The payload, or for a variation of the valid body just what differs from it."""
    if isinstance(payload, dict) and valid and set(valid) <= set(payload):
        changed = {k: x for k, x in payload.items() if valid.get(k, ...) != x}
        if len(changed) < len(payload):
            payload = {"...valid body, with": changed}
    text = json.dumps(payload, ensure_ascii=True)
    return text if len(text) < 200 else text[:180] + f"...({len(text)} chars)"


SWEPT = [
    ("POST", "/api/v1/patients"),
    ("PATCH", "/api/v1/patients/<int:patient_id>"),
    ("POST", "/api/v1/providers"),
    ("PATCH", "/api/v1/providers/<int:provider_id>"),
    ("POST", "/api/v1/services"),
    ("PATCH", "/api/v1/services/<int:service_id>"),
    ("POST", "/api/v1/staff"),
    ("PATCH", "/api/v1/staff/<int:staff_id>"),
    ("POST", "/api/v1/staff/<int:staff_id>/tokens"),
    ("PATCH", "/api/v1/clinic"),
    ("PUT", "/api/v1/clinic/pay-plan"),
    ("POST", "/api/v1/clinic/integration/launch-secret"),
    ("PUT", "/api/v1/clinic/integration/frame-origins"),
    ("POST", "/api/v1/earnings/what-if"),
    ("POST", "/api/v1/bookings"),
    ("POST", "/api/v1/bookings/<int:booking_id>/move"),
    ("POST", "/api/v1/bookings/<int:booking_id>/cancel"),
    ("POST", "/api/v1/bookings/<int:booking_id>/confirm"),
    ("POST", "/api/v1/bookings/<int:booking_id>/attend"),
    ("POST", "/api/v1/bookings/<int:booking_id>/no-show"),
    ("POST", "/api/v1/visits"),
    ("POST", "/api/v1/visits/<int:visit_id>/checkout"),
    ("POST", "/api/v1/recall-queue/claim"),
    ("PUT", "/api/v1/recall-tasks/<int:task_id>/lease"),
    ("POST", "/api/v1/recall-tasks/<int:task_id>/attempts"),
    ("PUT", "/api/v1/clinic/reminder-policy"),
    ("POST", "/api/v1/clinic/reminder-policy/preview"),
    ("POST", "/api/v1/reminder-calls/<int:reminder_id>/outcome"),
    ("POST", "/api/v1/imports/csv"),  # a multipart form: every JSON body is a 415
    ("POST", "/api/v1/patients/<int:patient_id>/erase"),
    ("POST", "/api/v1/targets"),
    ("PATCH", "/api/v1/targets/<int:target_id>"),
    ("POST", "/api/v1/webhooks/endpoints"),
    ("PATCH", "/api/v1/webhooks/endpoints/<int:endpoint_id>"),
    ("POST", "/api/v1/webhooks/endpoints/<int:endpoint_id>/rotate-secret"),
    ("POST", "/api/v1/webhooks/endpoints/<int:endpoint_id>/replay-failed"),
    ("POST", "/api/v1/webhooks/deliveries/<int:delivery_id>/replay"),
    ("POST", "/api/v1/clinic/integration/tokens"),
    ("POST", "/api/v1/clinic/integration/ehr-secret"),
    ("POST", "/api/v1/fhir"),
    ("POST", "/api/v1/fhir/notify/<int:clinic_id>"),  # signed, not token-guarded: every unsigned body is a 401
]


def test_the_sweep_covers_every_endpoint_that_takes_a_body(app):
    assert set(_write_endpoints(app)) == set(SWEPT), "add new POST/PATCH/PUT endpoints to SWEPT (and VALID)"


@pytest.mark.slow  # the fuzz sweep: one to two minutes per database in all
@pytest.mark.parametrize("method,rule", SWEPT, ids=[f"{m} {r.removeprefix('/api/v1')}" for m, r in SWEPT])
def test_garbage_sent_to_an_endpoint_never_gets_a_5xx(app, client, database, clock, world, v, method, rule):
    spec = client.get("/api/v1/openapi.json").get_json()
    fields = _body_fields(spec, method, rule)
    short = re.sub(r"<(?:\w+:)?(\w+)>", r"<id>", rule.removeprefix("/api/v1"))
    key = f"{method} {short}"
    valid = VALID[key][2](v) if key in VALID else {}
    who = VALID[key][3] if key in VALID and VALID[key][3] == "frontdesk" else "manager"
    headers = api_as(client, world.a, who).headers

    def fresh_patient() -> int:
        with database.writer() as s:
            return create_patient(
                s, clock, Actor.system(world.a.clinic.id), {"full_name": "Sweep", "phone": "070-765 43 21"}
            ).id

    def target() -> str:
        """The URL for the next payload. A checkout, cancel, move or call outcome that succeeds changes its
        target, and a later payload would then stop at a 409 before reaching the code under test: give each
        its own."""
        ids = {"staff_id": v.staff["operator2"], **{arg: getattr(v, attr) for arg, attr in PATH_IDS.items()}}
        if rule.endswith("/checkout"):
            with database.writer() as s:
                ids["visit_id"] = check_in(
                    s,
                    clock,
                    actor_of(world.a.staff["frontdesk"]),
                    patient_id=fresh_patient(),
                    provider_id=v.provider,
                    service_id=v.service,
                ).id
        if rule.endswith(("/cancel", "/move", "/outcome")):
            with database.writer() as s:
                ids["booking_id"] = create_booking(
                    s,
                    clock,
                    actor_of(world.a.staff["operator"]),
                    BookingRequest(
                        patient_id=fresh_patient(),
                        service_id=v.service,
                        channel=Channel.PHONE,
                        start_at=future(clock, days=3),
                    ),
                ).id
        if rule.endswith("/outcome"):
            ids["reminder_id"] = make_call(database, clock, ids["booking_id"])
        if rule.endswith(("/attempts", "/lease")):
            ids["task_id"] = make_task(
                database, clock, world.a.clinic.id, fresh_patient(), leased_to=world.a.staff[who].id
            ).id
        return re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule)

    crashes, shapeless = [], []
    for payload in _garbage(valid, fields, seed=key):
        response = client.open(
            target(), method=method, headers=headers, data=json.dumps(payload), content_type="application/json"
        )
        if response.status_code >= 500:
            crashes.append(f"{response.status_code} <- {_describe(payload, valid)}")
        elif response.status_code >= 400:
            body = response.get_json(silent=True)
            if not (isinstance(body, dict) and {"code", "status", "error", "message"} <= body.keys()):
                shapeless.append(
                    f"{response.status_code} {response.get_data(as_text=True)[:80]!r} <- {_describe(payload, valid)}"
                )
        elif key == "POST /bookings":
            # Free the slot, so the next payload is not refused as an overlapping booking.
            freed = client.post(f"/api/v1/bookings/{response.json['id']}/cancel", headers=headers, json={})
            assert freed.status_code == 200, freed.get_json()
    assert not crashes, f"{len(crashes)} requests to {key} crashed the service:\n" + "\n".join(crashes[:40])
    assert not shapeless, "refusals outside the error shape:\n" + "\n".join(shapeless[:20])


# --- too deep, too large, unusual text --------------------------------------------------------------------------------


def test_a_json_body_nested_too_deep_is_refused_not_a_crash(client, database, world, v):
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        with nothing_written(database):
            response = client.post(
                "/api/v1/patients",
                data=deep,
                content_type="application/json",
                headers=api_as(client, world.a, "frontdesk").headers,
            )
        assert response.status_code in (400, 413, 422), (response.status_code, response.get_json())


def test_an_id_too_large_for_the_database_is_404_not_a_crash(app, client, world, v):
    # 2**31 overflows PostgreSQL's integer columns, 2**63 SQLite's, 2**64 both.
    crashes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<int:" not in rule.rule:
            continue
        short = re.sub(r"<(?:\w+:)?\w+>", "<id>", rule.rule.removeprefix("/api/v1"))
        for method in sorted(rule.methods & {"GET", "POST", "PATCH", "DELETE"}):
            body = VALID[f"{method} {short}"][2](v) if f"{method} {short}" in VALID else None
            for huge in (2**31, 2**63, 2**64):
                url = re.sub(r"<int:\w+>", str(huge), rule.rule.removeprefix("/api/v1"))
                response = api_as(client, world.a, "manager")._call(
                    method, url, **({"json": body} if body is not None else {})
                )
                # The EHR's notifications check the signature first: unsigned, any clinic's is a 401.
                signed_only = rule.rule.startswith("/api/v1/fhir/notify/") and response.status_code == 401
                if response.status_code != 404 and not signed_only:
                    crashes.append(f"{method} {url}: {response.status_code}")
    assert not crashes, "\n".join(crashes)


@pytest.mark.parametrize(
    "query",
    [
        "/bookings?patient_id={n}",
        "/bookings?provider_id={n}",
        "/bookings?credited_staff_id={n}",
        "/visits?patient_id={n}",
        "/recall-tasks?patient_id={n}",
        "/recall-tasks?service_id={n}",
        "/ledger?staff_id={n}",
        "/patients?page={n}",
        "/bookings?page={n}",
    ],
)
def test_a_number_too_large_for_the_database_in_a_query_is_never_a_crash(client, world, v, query):
    # A filter by an id that cannot exist finds nothing (or is refused); a page past the end is empty.
    for n in (2**31, 2**63, 10**30):
        response = api_as(client, world.a, "manager").get(query.format(n=n))
        assert response.status_code in (200, 422), (query.format(n=n), response.status_code)
        if response.status_code == 200:
            assert response.json["items"] == []


def test_huge_ids_in_a_body_are_422_not_a_crash(client, database, world, v):
    manager = api_as(client, world.a, "manager")
    booking = VALID["POST /bookings"][2](v)
    for name in ("patient_id", "provider_id", "service_id"):
        for huge in (2**31, 2**63, 10**30, -(2**63) - 1):
            with nothing_written(database):
                response = manager.post("/bookings", json={**booking, name: huge})
            assert_rejected(response, name)
    with nothing_written(database):
        response = manager.post("/visits", json={"patient_id": 2**31})
    assert_rejected(response, "patient_id")


def test_the_stored_text_is_exactly_the_unicode_that_was_sent(client, world, v):
    names = ["Zoë Ørsted", "Katarzyna Wąsowska-Łęczyńska", "Ёлкин Пётр", "张伟", 'O\'Brien "Doc" 🦷']
    desk = api_as(client, world.a, "frontdesk")
    for name in names:
        made = desk.post("/patients", json={"full_name": name, "phone": "+46 70 765 43 21"})
        assert made.status_code == 201, made.get_json()
        assert desk.get(f"/patients/{made.json['id']}").json["full_name"] == name
    found = desk.get("/patients", query_string={"q": "Łęczy"})
    assert [p["full_name"] for p in found.json["items"]] == ["Katarzyna Wąsowska-Łęczyńska"]
