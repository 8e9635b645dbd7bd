"""Who may call what: the token, role and clinic checks on every endpoint under /api/v1.

One table lists every endpoint with the roles that may call it and a request
that succeeds for them. From it: no token, a malformed header or a revoked
token is 401; a role outside the list is 403; a role inside it succeeds; an id
of the other clinic is 404 in a path and 422 (naming the field) in a body; and
lists never show the other clinic's rows. A test walks ``app.url_map`` so that a
new endpoint without a row in the table fails.

The scene and the table of endpoints are in endpoints.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from recall.clinic.catalog import Provider, Service
from recall.clinic.patients import Patient
from recall.clinic.staff import Staff, get_staff, issue_token, revoke_token
from recall.common.db import Database
from recall.credit.ledger import CreditEntry
from recall.queue.tasks import RecallTask
from recall.reminders.reminders import Reminder
from recall.visits.bookings import Booking
from recall.visits.visits import Visit
from tests.api.checks import assert_error, names_field, nothing_written
from tests.api.endpoints import ENDPOINTS, EVERYONE, MANAGER, QUEUE, ROLES, UNGUARDED, booking_body, pay_plan
from tests.api.scene import ClinicScene, reminder_policy
from tests.factories import Api, ClinicWorld, actor_of, api_as

# --- the scene, and the table as parameters --------------------------------------------------------------------------


ALLOWED = [pytest.param(e, who, id=f"{e.name} as {who}") for e in ENDPOINTS for who in ROLES if who in e.allowed]
DENIED = [pytest.param(e, who, id=f"{e.name} as {who}") for e in ENDPOINTS for who in ROLES if who not in e.allowed]
ALL = [pytest.param(e, id=e.name) for e in ENDPOINTS]
WITH_ID = [pytest.param(e, id=e.name) for e in ENDPOINTS if e.takes_id]


# --- every endpoint has a row --------------------------------------------------------------------------------------


def test_every_endpoint_under_api_v1_has_a_row_in_the_access_table(app):
    served = {
        (method, rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule not in UNGUARDED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    tabled = {(e.method, e.rule) for e in ENDPOINTS}
    assert served - tabled == set(), "endpoints without a row in ENDPOINTS: give them one"
    assert tabled - served == set(), "rows in ENDPOINTS for endpoints that no longer exist"


def test_the_api_documents_are_readable_without_a_token(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


# --- (a) who are you ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ALL)
def test_a_request_without_a_token_is_401(client, database, scene, endpoint):
    with nothing_written(database):
        response = endpoint.call(Api(client, None), scene.a, "manager")
    assert_error(response, 401, "unauthenticated")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


MALFORMED = [
    "Bearer",
    "Bearer    ",
    "Basic bWFuYWdlcjpzZWNyZXQ=",
    "{token}",
    "Token {token}",
    "Bearer{token}",
    "Bearer not-a-recall-token",
    "Bearer rcl_forged0000000000000000000000000000000000000",
    "Bearer {token}x",
]


@pytest.mark.parametrize("endpoint", ALL)
def test_a_malformed_authorization_header_is_401(client, database, scene, world, endpoint):
    token = world.a.tokens["manager"]
    for header in MALFORMED:
        api = Api(client, None)
        api.headers = {"Authorization": header.format(token=token)}
        with nothing_written(database):
            response = endpoint.call(api, scene.a, "manager")
        assert response.status_code == 401, (header, response.status_code, response.get_json())
        assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("endpoint", ALL)
def test_a_revoked_token_is_401(client, database, clock, scene, world, endpoint):
    manager = world.a.staff["manager"]
    with database.writer() as s:
        issued = issue_token(s, clock, get_staff(s, manager.clinic_id, manager.id), "old laptop")
    with database.writer() as s:
        revoke_token(s, clock, actor_of(manager), manager.id, issued.token.id)
    with nothing_written(database):
        response = endpoint.call(Api(client, issued.secret), scene.a, "manager")
    assert_error(response, 401, "unauthenticated")


def test_a_token_revoked_through_the_api_stops_working_at_once(client, scene, world):
    operator = api_as(client, world.a, "operator")
    assert operator.get("/me").status_code == 200
    revoked = operator.delete(f"/staff/{scene.a.staff['operator']}/tokens/{scene.a.tokens['operator']}")
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    assert_error(operator.get("/me"), 401, "unauthenticated")


def test_a_deactivated_staff_members_token_is_401(client, scene, world):
    manager = api_as(client, world.a, "manager")
    assert manager.patch(f"/staff/{scene.a.staff['operator']}", json={"active": False}).status_code == 200
    assert_error(api_as(client, world.a, "operator").get("/me"), 401, "unauthenticated")


# --- (b) and (c) what may you do --------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint,who", DENIED)
def test_a_role_that_may_not_call_an_endpoint_is_403_and_nothing_changes(client, database, scene, world, endpoint, who):
    with nothing_written(database):
        response = endpoint.call(api_as(client, world.a, who), scene.a, who)
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("endpoint,who", ALLOWED)
def test_a_role_that_may_call_an_endpoint_gets_its_answer(client, scene, world, endpoint, who):
    response = endpoint.call(api_as(client, world.a, who), scene.a, who)
    assert response.status_code not in (401, 403), response.get_json()
    assert 200 <= response.status_code < 300, (response.status_code, response.get_json())


@pytest.mark.parametrize(
    "who,channel",
    [
        ("frontdesk", "phone"),
        ("frontdesk", "chat"),
        ("frontdesk", "sms"),
        ("operator", "in_person"),
        ("operator", "online"),
        ("operator", "voice_reply"),
    ],
)
def test_nobody_books_through_a_channel_of_another_roles_territory(client, database, scene, world, who, channel):
    body = {**booking_body(scene.a, who), "channel": channel}
    with nothing_written(database):
        response = api_as(client, world.a, who).post("/bookings", json=body)
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("who", ["operator", "frontdesk"])
def test_only_a_manager_books_on_behalf_of_someone_else(client, database, scene, world, who):
    body = {**booking_body(scene.a, who), "on_behalf_of_staff_id": scene.a.staff[who]}
    with nothing_written(database):
        response = api_as(client, world.a, who).post("/bookings", json=body)
    assert_error(response, 403, "forbidden")


# --- (d) the other clinic ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", WITH_ID)
def test_an_id_of_the_other_clinic_in_the_path_is_404(client, database, scene, world, endpoint):
    with nothing_written(database):
        response = endpoint.call(api_as(client, world.a, "manager"), scene.a, "manager", path_from=scene.b)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("endpoint", WITH_ID)
def test_an_id_that_exists_nowhere_is_404_like_the_other_clinics(client, database, scene, world, endpoint):
    nowhere = ClinicScene(
        world=ClinicWorld(
            clinic=scene.a.world.clinic,
            providers=[Provider(id=900_301)],
            services=[Service(id=900_302)],
            patients=[Patient(id=900_303), Patient(id=900_304)],
        ),
        clock=scene.a.clock,
        staff={k: 900_000 + i for i, k in enumerate(scene.a.staff)},
        tokens={k: 900_100 + i for i, k in enumerate(scene.a.tokens)},
        booking=900_201,
        desk_booking=900_202,
        visit=900_203,
        task=900_204,
        leased={"operator": 900_205, "manager": 900_206},
        call=900_207,
    )
    with nothing_written(database):
        response = endpoint.call(api_as(client, world.a, "manager"), scene.a, "manager", path_from=nowhere)
    assert_error(response, 404, "not_found")


# Requests whose body names rows: built from clinic a, with the one field under test taken from ``ref``.
# With ref = clinic a they succeed; with ref = clinic b they are a 422 naming that field.
RefBody = Callable[[ClinicScene, ClinicScene], Any]


@dataclass(frozen=True)
class BodyRef:
    method: str
    path: Callable[[ClinicScene], str]
    body: RefBody
    field: str


BODY_REFS = {
    "POST /bookings patient_id": BodyRef(
        "POST",
        lambda a: "/bookings",
        lambda a, r: {"patient_id": r.patient, "service_id": a.service, "start_at": a.later(), "channel": "phone"},
        "patient_id",
    ),
    "POST /bookings provider_id": BodyRef(
        "POST",
        lambda a: "/bookings",
        lambda a, r: {"patient_id": a.patient, "provider_id": r.provider, "start_at": a.later(), "channel": "phone"},
        "provider_id",
    ),
    "POST /bookings service_id": BodyRef(
        "POST",
        lambda a: "/bookings",
        lambda a, r: {"patient_id": a.patient, "service_id": r.service, "start_at": a.later(), "channel": "phone"},
        "service_id",
    ),
    "POST /bookings recall_task_id": BodyRef(
        "POST",
        lambda a: "/bookings",
        lambda a, r: {
            "patient_id": a.patient2,
            "service_id": a.service,
            "start_at": a.later(),
            "channel": "phone",
            "source": "recall_task",
            "recall_task_id": r.task,
        },
        "recall_task_id",
    ),
    "POST /bookings on_behalf_of_staff_id": BodyRef(
        "POST",
        lambda a: "/bookings",
        lambda a, r: {
            "patient_id": a.patient,
            "service_id": a.service,
            "start_at": a.later(),
            "channel": "phone",
            "on_behalf_of_staff_id": r.staff["operator"],
        },
        "on_behalf_of_staff_id",
    ),
    "POST /bookings/<id>/move provider_id": BodyRef(
        "POST",
        lambda a: f"/bookings/{a.booking}/move",
        lambda a, r: {"start_at": a.later(), "provider_id": r.provider},
        "provider_id",
    ),
    "POST /visits patient_id": BodyRef(
        "POST", lambda a: "/visits", lambda a, r: {"patient_id": r.patient2}, "patient_id"
    ),
    "POST /visits provider_id": BodyRef(
        "POST", lambda a: "/visits", lambda a, r: {"patient_id": a.patient2, "provider_id": r.provider}, "provider_id"
    ),
    "POST /visits service_id": BodyRef(
        "POST", lambda a: "/visits", lambda a, r: {"patient_id": a.patient2, "service_id": r.service}, "service_id"
    ),
    "POST /visits booking_id": BodyRef(
        "POST", lambda a: "/visits", lambda a, r: {"patient_id": a.patient2, "booking_id": r.desk_booking}, "booking_id"
    ),
    "POST /visits/<id>/checkout booking.provider_id": BodyRef(
        "POST",
        lambda a: f"/visits/{a.visit}/checkout",
        lambda a, r: {"follow_up": "booked", "booking": {"start_at": a.later(), "provider_id": r.provider}},
        "booking.provider_id",
    ),
    "POST /visits/<id>/checkout booking.service_id": BodyRef(
        "POST",
        lambda a: f"/visits/{a.visit}/checkout",
        lambda a, r: {"follow_up": "booked", "booking": {"start_at": a.later(), "service_id": r.service}},
        "booking.service_id",
    ),
    # pay_plan(r) holds one service rate, for r's service.
    "PUT /clinic/pay-plan service_rates.0.service_id": BodyRef(
        "PUT", lambda a: "/clinic/pay-plan", lambda a, r: pay_plan(r), "service_rates.0.service_id"
    ),
    "PUT /clinic/reminder-policy overrides.0.service_id": BodyRef(
        "PUT", lambda a: "/clinic/reminder-policy", lambda a, r: reminder_policy(r), "overrides.0.service_id"
    ),
    "POST /clinic/reminder-policy/preview provider_id": BodyRef(
        "POST", lambda a: "/clinic/reminder-policy/preview", lambda a, r: {"provider_id": r.provider}, "provider_id"
    ),
    "POST /clinic/reminder-policy/preview policy.overrides.0.service_id": BodyRef(
        "POST",
        lambda a: "/clinic/reminder-policy/preview",
        lambda a, r: {"policy": reminder_policy(r)},
        "policy.overrides.0.service_id",
    ),
    "POST /reminder-calls/<id>/outcome provider_id": BodyRef(
        "POST",
        lambda a: f"/reminder-calls/{a.call}/outcome",
        lambda a, r: {"outcome": "rescheduled", "start_at": a.later(), "provider_id": r.provider},
        "provider_id",
    ),
    "POST /earnings/what-if plan.service_rates.0.service_id": BodyRef(
        "POST",
        lambda a: "/earnings/what-if",
        lambda a, r: {"from": "2026-01-01", "to": "2026-02-28", "plan": pay_plan(r)},
        "plan.service_rates.0.service_id",
    ),
}
REFS = [pytest.param(case, id=name) for name, case in BODY_REFS.items()]


@pytest.mark.parametrize("case", REFS)
def test_a_request_naming_rows_of_its_own_clinic_succeeds(client, scene, world, case):
    manager = api_as(client, world.a, "manager")
    response = manager._call(case.method, case.path(scene.a), json=case.body(scene.a, scene.a))
    assert 200 <= response.status_code < 300, (response.status_code, response.get_json())


@pytest.mark.parametrize("case", REFS)
def test_a_body_naming_a_row_of_the_other_clinic_is_422_on_that_field(client, database, scene, world, case):
    with nothing_written(database):
        response = api_as(client, world.a, "manager")._call(
            case.method, case.path(scene.a), json=case.body(scene.a, scene.b)
        )
    body = assert_error(response, 422, "validation_error")
    assert names_field(body, case.field), body


# What each list shows, and the table its items come from.
LISTS = {
    "/patients": (Patient, EVERYONE),
    "/providers": (Provider, EVERYONE),
    "/services": (Service, EVERYONE),
    "/staff": (Staff, MANAGER),
    "/visits": (Visit, EVERYONE),
    "/bookings": (Booking, EVERYONE),
    "/recall-tasks": (RecallTask, QUEUE),
    "/ledger": (CreditEntry, EVERYONE),
    "/reminders": (Reminder, EVERYONE),
}


def _ids(database: Database, model: Any, clinic_id: int) -> set[int]:
    with database.reader() as s:
        return set(s.scalars(sa.select(model.id).where(model.clinic_id == clinic_id)))


@pytest.mark.parametrize(
    "path,model,who",
    [pytest.param(p, m, w, id=f"GET {p} as {w}") for p, (m, allowed) in LISTS.items() for w in ROLES if w in allowed],
)
def test_a_list_shows_the_other_clinic_none_of_its_rows(client, database, scene, world, path, model, who):
    response = api_as(client, world.b, who).get(f"{path}?page_size=200")
    assert response.status_code == 200, response.get_json()
    listed = {item["id"] for item in response.json["items"]}
    assert listed, "the list should show clinic b its own rows"
    assert listed <= _ids(database, model, world.b.clinic.id)
    assert not listed & _ids(database, model, world.a.clinic.id)
    if who == "manager":
        assert listed == _ids(database, model, world.b.clinic.id)


@pytest.mark.parametrize(
    "query",
    [
        "/bookings?patient_id={patient}",
        "/bookings?provider_id={provider}",
        "/bookings?credited_staff_id={operator}",
        "/visits?patient_id={patient}",
        "/recall-tasks?patient_id={patient2}",
        "/recall-tasks?service_id={service}",
        "/ledger?staff_id={operator}",
        "/reminders?patient_id={patient2}",
        "/reminder-calls?patient_id={patient2}",
    ],
)
def test_filtering_a_list_by_the_other_clinics_ids_finds_nothing(client, scene, world, query):
    a = scene.a
    url = query.format(
        patient=a.patient, patient2=a.patient2, provider=a.provider, service=a.service, operator=a.staff["operator"]
    )
    response = api_as(client, world.b, "manager").get(url)
    assert response.status_code == 200, response.get_json()
    assert response.json["items"] == [] and response.json["total"] == 0


def test_the_team_earnings_list_only_the_callers_clinic(client, scene, world):
    response = api_as(client, world.b, "manager").get("/earnings/team")
    assert response.status_code == 200
    listed = {row["staff_id"] for row in response.json["staff"]}
    assert listed == {scene.b.staff["frontdesk"], scene.b.staff["operator"]}


def test_a_what_if_counts_only_the_callers_clinic(client, database, clock, scene, world):
    # Clinic a's operator earns an attended booking; clinic b's what-if over the same days sees none of it.
    assert api_as(client, world.a, "frontdesk").post(f"/bookings/{scene.a.booking}/attend").status_code == 200
    today = clock.now().date().isoformat()
    body = {"from": today, "to": today, "plan": pay_plan(scene.b)}
    mine = api_as(client, world.a, "manager").post("/earnings/what-if", json={**body, "plan": pay_plan(scene.a)})
    theirs = api_as(client, world.b, "manager").post("/earnings/what-if", json=body)
    assert [r["staff_id"] for r in mine.json["rows"]] == [scene.a.staff["operator"]]
    assert theirs.status_code == 200 and theirs.json["rows"] == [] and theirs.json["actual_cents"] == 0
