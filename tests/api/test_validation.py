"""Every way a request can be wrong, and what the caller gets back.

Each refusal is a 400 (a body that is not JSON) or a 422 (anything else), in the
one error shape, with ``fields`` naming the offending field (nested names joined
with dots: "booking.start_at"), and nothing is written: every table is read
before and after the request and must be the same. A sweep sends garbage to
every endpoint that takes a body and asserts the service never answers 5xx.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from recall.bookings import BookingRequest, Channel, create_booking
from recall.clock import FixedClock
from recall.db import Base, Database
from recall.patients import create_patient
from recall.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.factories import World, actor_of, api_as, future, iso

# --- the scene ------------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    """Clinic a's rows that the requests below name, and a few of clinic b's."""

    clock: FixedClock
    staff: dict[str, int]
    patient: int
    patient2: int
    provider: int
    service: int  # a general check-up, follow-up after 30 days
    ent_service: int  # no default follow-up interval
    visit: int  # checked in today with the check-up service
    ent_visit: int  # checked in today with the ENT service
    bare_visit: int  # checked in today with no service at all
    booking: int  # an operator's phone booking in three days
    task: int  # an open recall task of the second patient
    b_operator: int
    b_service: int

    def later(self, days: int = 7, hour: int = 9) -> str:
        return iso(future(self.clock, days=days, hour=hour))

    def ago(self, **delta: float) -> str:
        return iso(self.clock.now() - timedelta(**delta))

    @property
    def today(self) -> str:
        return self.clock.now().date().isoformat()  # 09:00 in Stockholm: the same day


@pytest.fixture
def v(database: Database, clock: FixedClock, world: World) -> Scene:
    a = world.a
    people = {k: actor_of(s) for k, s in a.staff.items()}
    earlier = FixedClock(clock.now() - timedelta(days=1))

    def write(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        with database.writer() as s:
            return fn(s, *args, **kw)

    patient, patient2 = a.patients[0].id, a.patients[1].id
    service, ent = a.services[0].id, a.services[1].id
    desk = people["frontdesk"]
    left = write(check_in, earlier, desk, patient_id=patient2, service_id=service)
    task = write(checkout, earlier, desk, left.id, CheckoutRequest(follow_up=FollowUp.DECLINED)).recall_task
    return Scene(
        clock=clock, staff={k: s.id for k, s in a.staff.items()}, patient=patient, patient2=patient2,
        provider=a.providers[0].id, service=service, ent_service=ent,
        visit=write(check_in, clock, desk, patient_id=patient, provider_id=a.providers[0].id, service_id=service).id,
        ent_visit=write(check_in, clock, desk, patient_id=patient2, service_id=ent).id,
        bare_visit=write(check_in, clock, desk, patient_id=patient).id,
        booking=write(create_booking, clock, people["operator"], BookingRequest(
            patient_id=patient, service_id=service, channel=Channel.PHONE,
            start_at=future(clock, days=3))).id,
        task=task.id, b_operator=world.b.staff["operator"].id, b_service=world.b.services[0].id,
    )


# --- helpers --------------------------------------------------------------------------------------------------------


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    with database.reader() as s:
        return {t.name: sorted((tuple(r) for r in s.execute(sa.select(t))), key=repr)
                for t in Base.metadata.sorted_tables}


@contextmanager
def nothing_written(database: Database) -> Iterator[None]:
    before = snapshot(database)
    yield
    after = snapshot(database)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused request changed the tables {changed}"


def _unindexed(name: str) -> str:
    return re.sub(r"\.\d+(?=\.|$)", "", name)


def assert_rejected(response: Any, field: str | tuple[str, ...], status: int = 422) -> dict[str, Any]:
    """A refusal in the error shape whose ``fields`` names ``field`` (or one of several acceptable names).

    List indices may be left out: "service_rates.service_id" names "service_rates.0.service_id".
    """
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:600])
    body = response.get_json()
    assert isinstance(body, dict), body
    assert body["code"] == status and body["error"] == ("bad_request" if status == 400 else "validation_error"), body
    assert isinstance(body["status"], str) and isinstance(body["message"], str) and body["message"], body
    names = body.get("fields") or {}
    assert all(isinstance(msgs, list) and msgs and all(isinstance(m, str) for m in msgs) for msgs in names.values())
    wanted = (field,) if isinstance(field, str) else field
    assert any(_unindexed(n) == _unindexed(w) for n in names for w in wanted), \
        f"expected {wanted} among the fields named, got {names}"
    return body


def _call(client: Any, world: World, who: str, method: str, url: str, body: Any = None) -> Any:
    api = api_as(client, world.a, who)
    return api._call(method, url, **({"json": body} if body is not None else {}))


# --- valid requests, each varied below in one field ------------------------------------------------------------------


def plan(**changes: Any) -> dict[str, Any]:
    return {"frontdesk_base_cents": 1000, "operator_base_cents": 1200, "recall_multiplier": 1.5,
            "service_rates": [], **changes}


VALID: dict[str, tuple[str, Callable[[Scene], str], Callable[[Scene], Any], str]] = {
    # name: (method, path, body, who)
    "POST /patients": ("POST", lambda v: "/patients", lambda v: {
        "full_name": "Nils Nilsson", "phone": "070-765 43 21", "language": "sv", "timezone": "Europe/Stockholm",
        "date_of_birth": "1980-05-17", "external_ref": "EMR-1", "consent_sms": True}, "frontdesk"),
    "PATCH /patients/<id>": ("PATCH", lambda v: f"/patients/{v.patient}", lambda v: {
        "full_name": "Astrid Andersson", "phone": "070-123 45 67", "consent_call": False}, "operator"),
    "POST /providers": ("POST", lambda v: "/providers", lambda v: {"name": "Dr. Wang Fang", "specialty": "ENT"},
                        "manager"),
    "PATCH /providers/<id>": ("PATCH", lambda v: f"/providers/{v.provider}", lambda v: {"active": False}, "manager"),
    "POST /services": ("POST", lambda v: "/services", lambda v: {
        "name": "Vaccination", "duration_minutes": 15, "follow_up_interval_days": 180}, "manager"),
    "PATCH /services/<id>": ("PATCH", lambda v: f"/services/{v.service}", lambda v: {
        "duration_minutes": 45, "follow_up_interval_days": None}, "manager"),
    "POST /staff": ("POST", lambda v: "/staff", lambda v: {
        "name": "Li Wei", "role": "operator", "email": "li.wei@example.com"}, "manager"),
    "PATCH /staff/<id>": ("PATCH", lambda v: f"/staff/{v.staff['operator2']}", lambda v: {
        "name": "Olga Petrova", "active": False}, "manager"),
    "POST /staff/<id>/tokens": ("POST", lambda v: f"/staff/{v.staff['operator']}/tokens", lambda v: {
        "label": "desk laptop"}, "manager"),
    "PATCH /clinic": ("PATCH", lambda v: "/clinic", lambda v: {
        "name": "Nordvik Clinic", "timezone": "Europe/Warsaw", "phone_region": "PL", "currency": "PLN",
        "recall_cooling_off_hours": 48, "calling_weekday_start": "08:30", "calling_weekday_end": "19:00"},
        "manager"),
    "PUT /clinic/pay-plan": ("PUT", lambda v: "/clinic/pay-plan", lambda v: plan(service_rates=[
        {"service_id": v.service, "role": "operator", "amount_cents": 1500}]), "manager"),
    "POST /earnings/what-if": ("POST", lambda v: "/earnings/what-if", lambda v: {
        "from": "2026-01-01", "to": "2026-02-28", "plan": plan()}, "manager"),
    "POST /bookings": ("POST", lambda v: "/bookings", lambda v: {
        "patient_id": v.patient, "provider_id": v.provider, "service_id": v.service, "start_at": v.later(),
        "channel": "phone", "note": "prefers mornings"}, "operator"),
    "POST /bookings/<id>/move": ("POST", lambda v: f"/bookings/{v.booking}/move", lambda v: {
        "start_at": v.later(days=5), "provider_id": v.provider}, "operator"),
    "POST /bookings/<id>/cancel": ("POST", lambda v: f"/bookings/{v.booking}/cancel", lambda v: {
        "reason": "the patient asked"}, "operator"),
    "POST /visits": ("POST", lambda v: "/visits", lambda v: {
        "patient_id": v.patient2, "provider_id": v.provider, "service_id": v.service}, "frontdesk"),
    "POST /visits/<id>/checkout": ("POST", lambda v: f"/visits/{v.visit}/checkout", lambda v: {
        "follow_up": "booked", "booking": {"start_at": v.later(days=30), "service_id": v.service,
                                           "note": "bring the referral"},
        "note": "call after 5 pm"}, "frontdesk"),
}


@pytest.mark.parametrize("name", list(VALID))
def test_the_valid_request_that_the_cases_vary_is_accepted(client, world, v, name):
    method, path, body, who = VALID[name]
    response = _call(client, world, who, method, path(v), body(v))
    assert 200 <= response.status_code < 300, (response.status_code, response.get_json())


# --- the table of bad requests ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    endpoint: str  # a key of VALID
    change: Callable[[Scene, dict[str, Any]], Any]  # the valid body -> the bad one
    field: str | tuple[str, ...]


def put(**fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Set fields (values may be functions of the scene) in the valid body."""
    return lambda v, body: {**body, **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}


def drop(*names: str) -> Callable[[Scene, dict[str, Any]], Any]:
    return lambda v, body: {k: x for k, x in body.items() if k not in names}


def nested(key: str, **fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Set fields inside the body's nested object ``key``."""
    return lambda v, body: {**body, key: {**body[key], **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}}


def rate(**fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Replace the service rates with one rate, some of its fields set."""
    def change(v: Scene, body: dict[str, Any]) -> Any:
        one = {"service_id": v.service, "role": "operator", "amount_cents": 1500}
        return {**body, "service_rates": [{**one, **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}]}

    return change


LONG = "x" * 100_000

CASES: dict[str, list[tuple[str, Bad]]] = {
    "wrong type": [
        ("a number for the patient's name", Bad("POST /patients", put(full_name=42), "full_name")),
        ("a number for the phone", Bad("POST /patients", put(phone=46701234567), "phone")),
        ("a number for the language", Bad("POST /patients", put(language=1), "language")),
        ('"yes" for consent_sms', Bad("POST /patients", put(consent_sms="yes"), "consent_sms")),
        ('"true" for opted_out', Bad("POST /patients", put(opted_out="true"), "opted_out")),
        ("1 for consent_voice", Bad("POST /patients", put(consent_voice=1), "consent_voice")),
        ("0 for consent_call", Bad("POST /patients", put(consent_call=0), "consent_call")),
        ("a number for the date of birth", Bad("POST /patients", put(date_of_birth=19800517), "date_of_birth")),
        ("a non-date for the date of birth", Bad("POST /patients", put(date_of_birth="17/05/1980"), "date_of_birth")),
        ("a number for the external ref", Bad("POST /patients", put(external_ref=12345), "external_ref")),
        ("a list for the name in an edit", Bad("PATCH /patients/<id>", put(full_name=["Astrid"]), "full_name")),
        ("an object for the phone in an edit", Bad("PATCH /patients/<id>", put(phone={"number": "0701234567"}),
                                                   "phone")),
        ('"no" for consent_call in an edit', Bad("PATCH /patients/<id>", put(consent_call="no"), "consent_call")),
        ("a number for a provider's name", Bad("POST /providers", put(name=7), "name")),
        ("a boolean for the specialty", Bad("POST /providers", put(specialty=True), "specialty")),
        ('"no" for a provider\'s active', Bad("PATCH /providers/<id>", put(active="no"), "active")),
        ('"30" for the duration', Bad("POST /services", put(duration_minutes="30"), "duration_minutes")),
        ("30.5 for the duration", Bad("POST /services", put(duration_minutes=30.5), "duration_minutes")),
        ('"180" for the interval', Bad("POST /services", put(follow_up_interval_days="180"),
                                       "follow_up_interval_days")),
        ('"yes" for a service\'s active', Bad("PATCH /services/<id>", put(active="yes"), "active")),
        ("a number for a staff name", Bad("POST /staff", put(name=42), "name")),
        ("a number for the role", Bad("POST /staff", put(role=3), "role")),
        ("a number for the email", Bad("POST /staff", put(email=5), "email")),
        ('"yes" for a staff member\'s active', Bad("PATCH /staff/<id>", put(active="yes"), "active")),
        ("1 for a staff member's active", Bad("PATCH /staff/<id>", put(active=1), "active")),
        ("a number for a token label", Bad("POST /staff/<id>/tokens", put(label=5), "label")),
        ("a number for the clinic name", Bad("PATCH /clinic", put(name=5), "name")),
        ('"72" for the cooling-off', Bad("PATCH /clinic", put(recall_cooling_off_hours="72"),
                                         "recall_cooling_off_hours")),
        ("1.5 for the cooling-off", Bad("PATCH /clinic", put(recall_cooling_off_hours=1.5),
                                        "recall_cooling_off_hours")),
        ("a number for a calling hour", Bad("PATCH /clinic", put(calling_weekday_start=900), "calling_weekday_start")),
        ("a number for the region", Bad("PATCH /clinic", put(phone_region=46), "phone_region")),
        ('"1000" for a base amount', Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents="1000"),
                                         "frontdesk_base_cents")),
        ("10.5 for a base amount", Bad("PUT /clinic/pay-plan", put(operator_base_cents=10.5), "operator_base_cents")),
        ("a word for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier="many"), "recall_multiplier")),
        ("true for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=True), "recall_multiplier")),
        ("an object for the service rates", Bad("PUT /clinic/pay-plan", put(service_rates={}), "service_rates")),
        ("a number as a service rate", Bad("PUT /clinic/pay-plan", put(service_rates=[5]), "service_rates.0")),
        ('"1500" for a rate amount', Bad("PUT /clinic/pay-plan", rate(amount_cents="1500"),
                                         "service_rates.0.amount_cents")),
        ("a string for a rate's service", Bad("PUT /clinic/pay-plan", rate(service_id="1"),
                                              "service_rates.0.service_id")),
        ("a number for from", Bad("POST /earnings/what-if", put(**{"from": 20260101}), "from")),
        ("a list for the plan", Bad("POST /earnings/what-if", put(plan=[]), "plan")),
        ("a string for the plan", Bad("POST /earnings/what-if", put(plan="generous"), "plan")),
        ('"1" for the patient id', Bad("POST /bookings", put(patient_id=lambda v: str(v.patient)), "patient_id")),
        ("true for the patient id", Bad("POST /bookings", put(patient_id=True), "patient_id")),
        ("1.0 for the provider id", Bad("POST /bookings", put(provider_id=lambda v: float(v.provider)),
                                        "provider_id")),
        ("a number for start_at", Bad("POST /bookings", put(start_at=1773046800), "start_at")),
        ("a number for the channel", Bad("POST /bookings", put(channel=1), "channel")),
        ("a number for the note", Bad("POST /bookings", put(note=5), "note")),
        ("a string for the recall task id", Bad("POST /bookings", put(recall_task_id="x"), "recall_task_id")),
        ("a string for on_behalf_of", Bad("POST /bookings", put(on_behalf_of_staff_id="me"),
                                          "on_behalf_of_staff_id")),
        ("a number for the move's start", Bad("POST /bookings/<id>/move", put(start_at=5), "start_at")),
        ('"2" for the move\'s provider', Bad("POST /bookings/<id>/move", put(provider_id="2"), "provider_id")),
        ("a number for the cancel reason", Bad("POST /bookings/<id>/cancel", put(reason=5), "reason")),
        ('"1" for the visit\'s patient', Bad("POST /visits", put(patient_id=lambda v: str(v.patient2)), "patient_id")),
        ("a list for the visit's service", Bad("POST /visits", put(service_id=[1]), "service_id")),
        ("a word for the visit's booking", Bad("POST /visits", put(booking_id="x"), "booking_id")),
        ("a number for follow_up", Bad("POST /visits/<id>/checkout", put(follow_up=1), "follow_up")),
        ("a number for follow_up_date", Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_date=20260401), "follow_up_date")),
        ('"30" for follow_up_interval_days', Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_interval_days="30"), "follow_up_interval_days")),
        ("a string for the booking", Bad("POST /visits/<id>/checkout", put(booking="tomorrow"), "booking")),
        ("a list for the booking", Bad("POST /visits/<id>/checkout", put(booking=[]), "booking")),
        ("a number for the checkout note", Bad("POST /visits/<id>/checkout", put(note=7), "note")),
        ('"2" for the booking\'s provider', Bad("POST /visits/<id>/checkout", nested("booking", provider_id="2"),
                                               "booking.provider_id")),
    ],
    "required field missing": [
        ("the patient's name", Bad("POST /patients", drop("full_name"), "full_name")),
        ("the patient's phone", Bad("POST /patients", drop("phone"), "phone")),
        ("the provider's specialty", Bad("POST /providers", drop("specialty"), "specialty")),
        ("the service's name", Bad("POST /services", drop("name"), "name")),
        ("the staff member's role", Bad("POST /staff", drop("role"), "role")),
        ("the booking's patient", Bad("POST /bookings", drop("patient_id"), "patient_id")),
        ("the booking's start", Bad("POST /bookings", drop("start_at"), "start_at")),
        ("the booking's channel", Bad("POST /bookings", drop("channel"), "channel")),
        ("the move's start", Bad("POST /bookings/<id>/move", drop("start_at"), "start_at")),
        ("the visit's patient", Bad("POST /visits", drop("patient_id"), "patient_id")),
        ("the checkout's follow_up", Bad("POST /visits/<id>/checkout", drop("follow_up", "booking"), "follow_up")),
        ("the checkout booking's start", Bad("POST /visits/<id>/checkout", lambda v, b: {
            **b, "booking": {"service_id": v.service}}, "booking.start_at")),
        ("the multiplier", Bad("PUT /clinic/pay-plan", drop("recall_multiplier"), "recall_multiplier")),
        ("a rate's role", Bad("PUT /clinic/pay-plan", lambda v, b: {**b, "service_rates": [
            {"service_id": v.service, "amount_cents": 5}]}, "service_rates.0.role")),
        ("the what-if's to", Bad("POST /earnings/what-if", drop("to"), "to")),
        ("the what-if's plan", Bad("POST /earnings/what-if", drop("plan"), "plan")),
        ("the what-if plan's multiplier", Bad("POST /earnings/what-if", lambda v, b: {
            **b, "plan": {k: x for k, x in b["plan"].items() if k != "recall_multiplier"}},
            "plan.recall_multiplier")),
        ("null for the patient's name", Bad("POST /patients", put(full_name=None), "full_name")),
        ("null for the booking's start", Bad("POST /bookings", put(start_at=None), "start_at")),
        ("null for the booking's channel", Bad("POST /bookings", put(channel=None), "channel")),
        ("null for a staff member's active", Bad("PATCH /staff/<id>", put(active=None), "active")),
        ("null for the clinic's zone", Bad("PATCH /clinic", put(timezone=None), "timezone")),
    ],
    "unknown field": [
        ("an invented field on a patient", Bad("POST /patients", put(favourite_colour="blue"), "favourite_colour")),
        ("the patient's clinic", Bad("POST /patients", put(clinic_id=2), "clinic_id")),
        ("the stored phone column", Bad("PATCH /patients/<id>", put(phone_e164="+46701234567"), "phone_e164")),
        ("a provider's clinic", Bad("POST /providers", put(clinic_id=2), "clinic_id")),
        ("a service's id", Bad("PATCH /services/<id>", put(id=99), "id")),
        ("a new staff member's active", Bad("POST /staff", put(active=False), "active")),
        ("a staff member's role in an edit", Bad("PATCH /staff/<id>", put(role="manager"), "role")),
        ("a token's secret", Bad("POST /staff/<id>/tokens", put(token="rcl_mine"), "token")),
        ("the clinic's id", Bad("PATCH /clinic", put(id=2), "id")),
        ("the pay plan's version", Bad("PUT /clinic/pay-plan", put(version=7), "version")),
        ("a bonus on a service rate", Bad("PUT /clinic/pay-plan", rate(bonus=5), "service_rates.0.bonus")),
        ("the what-if plan's version", Bad("POST /earnings/what-if", nested("plan", version=2), "plan.version")),
        ("the booking's credited staff", Bad("POST /bookings", put(credited_staff_id=1), "credited_staff_id")),
        ("the booking's status", Bad("POST /bookings", put(status="attended"), "status")),
        ("the move's status", Bad("POST /bookings/<id>/move", put(status="confirmed"), "status")),
        ("the cancel's date", Bad("POST /bookings/<id>/cancel", put(when="now"), "when")),
        ("the visit's status", Bad("POST /visits", put(status="checked_out"), "status")),
        ("the checkout's visit id", Bad("POST /visits/<id>/checkout", put(visit_id=1), "visit_id")),
        ("the checkout booking's patient", Bad("POST /visits/<id>/checkout", nested("booking", patient_id=1),
                                               "booking.patient_id")),
        ("the checkout booking's channel", Bad("POST /visits/<id>/checkout", nested("booking", channel="phone"),
                                               "booking.channel")),
    ],
    "value out of range": [
        ("German as a language", Bad("POST /patients", put(language="de"), "language")),
        ("a language in capitals", Bad("POST /patients", put(language="EN"), "language")),
        ("an empty language", Bad("PATCH /patients/<id>", put(language=""), "language")),
        ("an admin role", Bad("POST /staff", put(role="admin"), "role")),
        ("a role in capitals", Bad("POST /staff", put(role="Manager"), "role")),
        ("a fax channel", Bad("POST /bookings", put(channel="fax"), "channel")),
        ("a channel in capitals", Bad("POST /bookings", put(channel="PHONE"), "channel")),
        ("a walk-in source", Bad("POST /bookings", put(source="walk_in"), "source")),
        ("a maybe follow-up", Bad("POST /visits/<id>/checkout", put(follow_up="maybe", booking=None), "follow_up")),
        ("a manager's service rate", Bad("PUT /clinic/pay-plan", rate(role="manager"), "service_rates.0.role")),
        ("a boss's service rate", Bad("PUT /clinic/pay-plan", rate(role="boss"), "service_rates.0.role")),
        ("a 4-minute service", Bad("POST /services", put(duration_minutes=4), "duration_minutes")),
        ("a 721-minute service", Bad("PATCH /services/<id>", put(duration_minutes=721), "duration_minutes")),
        ("a negative duration", Bad("POST /services", put(duration_minutes=-30), "duration_minutes")),
        ("a zero-day interval", Bad("POST /services", put(follow_up_interval_days=0), "follow_up_interval_days")),
        ("a ten-year interval", Bad("PATCH /services/<id>", put(follow_up_interval_days=3651),
                                    "follow_up_interval_days")),
        ("a negative cooling-off", Bad("PATCH /clinic", put(recall_cooling_off_hours=-1), "recall_cooling_off_hours")),
        ("a cooling-off over a year", Bad("PATCH /clinic", put(recall_cooling_off_hours=8761),
                                          "recall_cooling_off_hours")),
        ("a zero checkout interval", Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_interval_days=0), "follow_up_interval_days")),
        ("a ten-year checkout interval", Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_interval_days=3651), "follow_up_interval_days")),
    ],
    "length": [
        ("an empty patient name", Bad("POST /patients", put(full_name=""), "full_name")),
        ("a blank patient name", Bad("POST /patients", put(full_name="   "), "full_name")),
        ("a 201-character patient name", Bad("POST /patients", put(full_name="x" * 201), "full_name")),
        ("a blank name in an edit", Bad("PATCH /patients/<id>", put(full_name=" "), "full_name")),
        ("a two-character phone", Bad("POST /patients", put(phone="12"), "phone")),
        ("a 41-character phone", Bad("POST /patients", put(phone="1" * 41), "phone")),
        ("a 65-character external ref", Bad("POST /patients", put(external_ref="r" * 65), "external_ref")),
        ("a 65-character patient zone", Bad("POST /patients", put(timezone="Z" * 65), "timezone")),
        ("an empty provider name", Bad("POST /providers", put(name=""), "name")),
        ("a blank provider name", Bad("POST /providers", put(name="  "), "name")),
        ("a 101-character specialty", Bad("POST /providers", put(specialty="s" * 101), "specialty")),
        ("a blank specialty in an edit", Bad("PATCH /providers/<id>", put(specialty=" "), "specialty")),
        ("an empty service name", Bad("POST /services", put(name=""), "name")),
        ("a blank service name", Bad("PATCH /services/<id>", put(name="   "), "name")),
        ("a 201-character service name", Bad("POST /services", put(name="s" * 201), "name")),
        ("an empty staff name", Bad("POST /staff", put(name=""), "name")),
        ("a blank staff name", Bad("POST /staff", put(name="   "), "name")),
        ("a blank name in a staff edit", Bad("PATCH /staff/<id>", put(name="  "), "name")),
        ("an address that is not an email", Bad("POST /staff", put(email="li.wei at example"), "email")),
        ("a 255-character email", Bad("POST /staff", put(email="a" * 243 + "@example.com"), "email")),
        ("a 101-character token label", Bad("POST /staff/<id>/tokens", put(label="l" * 101), "label")),
        ("an empty clinic name", Bad("PATCH /clinic", put(name=""), "name")),
        ("a blank clinic name", Bad("PATCH /clinic", put(name="   "), "name")),
        ("a 201-character clinic name", Bad("PATCH /clinic", put(name="c" * 201), "name")),
        ("a three-letter region", Bad("PATCH /clinic", put(phone_region="SWE"), "phone_region")),
        ("a four-letter currency", Bad("PATCH /clinic", put(currency="EURO"), "currency")),
        ("an empty clinic zone", Bad("PATCH /clinic", put(timezone=""), "timezone")),
        ("a 501-character booking note", Bad("POST /bookings", put(note="n" * 501), "note")),
        ("a 201-character cancel reason", Bad("POST /bookings/<id>/cancel", put(reason="r" * 201), "reason")),
        ("a 501-character checkout note", Bad("POST /visits/<id>/checkout", put(note="n" * 501), "note")),
        ("a 501-character desk booking note", Bad("POST /visits/<id>/checkout", nested("booking", note="n" * 501),
                                                  "booking.note")),
        ("a 100,000-character name", Bad("POST /patients", put(full_name=LONG), "full_name")),
    ],
    "zone, region, currency and calling hours": [
        ("a zone on Mars", Bad("PATCH /clinic", put(timezone="Mars/Olympus"), "timezone")),
        ("a zone in the wrong case", Bad("PATCH /clinic", put(timezone="europe/stockholm"), "timezone")),
        ("a zone that is a path", Bad("PATCH /clinic", put(timezone="../../etc/passwd"), "timezone")),
        ("an offset instead of a zone", Bad("PATCH /clinic", put(timezone="UTC+2"), "timezone")),
        ("a patient zone that does not exist", Bad("PATCH /patients/<id>", put(timezone="Nowhere/City"), "timezone")),
        ("a new patient's zone that does not exist", Bad("POST /patients", put(timezone="Europe/Atlantis"),
                                                         "timezone")),
        ("an unknown region", Bad("PATCH /clinic", put(phone_region="XX"), "phone_region")),
        ("a region with a digit", Bad("PATCH /clinic", put(phone_region="S1"), "phone_region")),
        ("a currency with a digit", Bad("PATCH /clinic", put(currency="E1R"), "currency")),
        ("a currency that ISO 4217 does not know", Bad("PATCH /clinic", put(currency="QQQ"), "currency")),
        ("a weekday end before the start", Bad("PATCH /clinic", put(
            calling_weekday_start="18:00", calling_weekday_end="10:00"), "calling_weekday_end")),
        ("a weekday end before the current start", Bad("PATCH /clinic", lambda v, b: {
            "calling_weekday_end": "08:00"}, "calling_weekday_end")),
        ("a weekend end equal to the start", Bad("PATCH /clinic", put(
            calling_weekend_start="12:00", calling_weekend_end="12:00"), "calling_weekend_end")),
        ("25 o'clock", Bad("PATCH /clinic", put(calling_weekday_end="25:00"), "calling_weekday_end")),
        ("half past 24", Bad("PATCH /clinic", put(calling_weekday_end="24:30"), "calling_weekday_end")),
        ("sixty minutes", Bad("PATCH /clinic", put(calling_weekday_start="09:60"), "calling_weekday_start")),
        ("a one-digit hour", Bad("PATCH /clinic", put(calling_weekday_start="9:00"), "calling_weekday_start")),
        ("noon in words", Bad("PATCH /clinic", put(calling_weekend_start="noon"), "calling_weekend_start")),
        ("an empty calling hour", Bad("PATCH /clinic", put(calling_weekend_end=""), "calling_weekend_end")),
        ("seconds in a calling hour", Bad("PATCH /clinic", put(calling_weekday_start="09:00:00"),
                                          "calling_weekday_start")),
    ],
    "dates and times": [
        ("a start without an offset", Bad("POST /bookings", put(start_at="2026-03-09T09:00:00"), "start_at")),
        ("a start that is only a date", Bad("POST /bookings", put(start_at="2026-03-09"), "start_at")),
        ("a start in words", Bad("POST /bookings", put(start_at="next tuesday"), "start_at")),
        ("a start on February 30th", Bad("POST /bookings", put(start_at="2026-02-30T09:00:00Z"), "start_at")),
        ("a start yesterday", Bad("POST /bookings", put(start_at=lambda v: v.ago(days=1)), "start_at")),
        ("a start ten minutes ago", Bad("POST /bookings", put(start_at=lambda v: v.ago(minutes=10)), "start_at")),
        ("an end without an offset", Bad("POST /bookings", put(start_at="2026-03-09T09:00:00Z",
                                                               end_at="2026-03-09T09:30:00"), "end_at")),
        ("an end before the start", Bad("POST /bookings", put(start_at="2026-03-09T09:00:00Z",
                                                              end_at="2026-03-09T08:30:00Z"), "end_at")),
        ("an end equal to the start", Bad("POST /bookings", put(start_at="2026-03-09T09:00:00+01:00",
                                                                end_at="2026-03-09T08:00:00Z"), "end_at")),
        ("a booking of thirteen hours", Bad("POST /bookings", put(start_at="2026-03-09T06:00:00Z",
                                                                  end_at="2026-03-09T19:00:00Z"), "end_at")),
        ("a move without an offset", Bad("POST /bookings/<id>/move", put(start_at="2026-03-10T10:00:00"),
                                         "start_at")),
        ("a move into the past", Bad("POST /bookings/<id>/move", put(start_at=lambda v: v.ago(hours=2)),
                                     "start_at")),
        ("a move ending before it starts", Bad("POST /bookings/<id>/move", put(
            start_at="2026-03-10T10:00:00Z", end_at="2026-03-10T09:00:00Z"), "end_at")),
        ("a desk booking without an offset", Bad("POST /visits/<id>/checkout", nested(
            "booking", start_at="2026-04-01T09:00:00"), "booking.start_at")),
        ("a desk booking in the past", Bad("POST /visits/<id>/checkout", nested(
            "booking", start_at=lambda v: v.ago(days=2)), "booking.start_at")),
        ("a desk booking ending before it starts", Bad("POST /visits/<id>/checkout", nested(
            "booking", start_at="2026-04-01T09:00:00Z", end_at="2026-04-01T08:00:00Z"), "booking.end_at")),
        ("a what-if from February 30th", Bad("POST /earnings/what-if", put(**{"from": "2026-02-30"}), "from")),
        ("a what-if ending before it starts", Bad("POST /earnings/what-if", put(
            **{"from": "2026-02-01", "to": "2026-01-01"}), "to")),
        ("a what-if over three years", Bad("POST /earnings/what-if", put(
            **{"from": "2023-01-01", "to": "2026-01-01"}), "to")),
        ("a date of birth that does not exist", Bad("POST /patients", put(date_of_birth="1980-02-30"),
                                                    "date_of_birth")),
    ],
    "pay plan": [
        ("a multiplier below 1", Bad("PUT /clinic/pay-plan", put(recall_multiplier=0.99), "recall_multiplier")),
        ("a zero multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=0), "recall_multiplier")),
        ("a negative multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=-2), "recall_multiplier")),
        ("a multiplier just over 100", Bad("PUT /clinic/pay-plan", put(recall_multiplier=100.001),
                                           "recall_multiplier")),
        ("a multiplier of 101", Bad("PUT /clinic/pay-plan", put(recall_multiplier=101), "recall_multiplier")),
        ("a multiplier with four decimals", Bad("PUT /clinic/pay-plan", put(recall_multiplier=1.2345),
                                                "recall_multiplier")),
        ("a multiplier with four decimals as text", Bad("PUT /clinic/pay-plan", put(recall_multiplier="1.0001"),
                                                        "recall_multiplier")),
        ("NaN for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier="NaN"), "recall_multiplier")),
        ("infinity for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier="Infinity"),
                                            "recall_multiplier")),
        ("negative front-desk cents", Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents=-1),
                                          "frontdesk_base_cents")),
        ("negative operator cents", Bad("PUT /clinic/pay-plan", put(operator_base_cents=-500), "operator_base_cents")),
        ("a billion and one cents", Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents=10**9 + 1),
                                        "frontdesk_base_cents")),
        ("negative rate cents", Bad("PUT /clinic/pay-plan", rate(amount_cents=-1), "service_rates.0.amount_cents")),
        ("two rates for one service and role", Bad("PUT /clinic/pay-plan", lambda v, b: {**b, "service_rates": [
            {"service_id": v.service, "role": "operator", "amount_cents": 1500},
            {"service_id": v.service, "role": "operator", "amount_cents": 1700}]}, "service_rates")),
        ("a rate for an unknown service", Bad("PUT /clinic/pay-plan", rate(service_id=999_999),
                                              "service_rates.0.service_id")),
        ("a rate for another clinic's service", Bad("PUT /clinic/pay-plan", rate(service_id=lambda v: v.b_service),
                                                    "service_rates.0.service_id")),
        ("a proposed multiplier below 1", Bad("POST /earnings/what-if", nested("plan", recall_multiplier=0.5),
                                              "plan.recall_multiplier")),
        ("a proposed multiplier over 100", Bad("POST /earnings/what-if", nested("plan", recall_multiplier=250),
                                               "plan.recall_multiplier")),
        ("a proposed multiplier with four decimals", Bad("POST /earnings/what-if", nested(
            "plan", recall_multiplier=1.2345), "plan.recall_multiplier")),
        ("proposed negative cents", Bad("POST /earnings/what-if", nested("plan", operator_base_cents=-1),
                                        "plan.operator_base_cents")),
        ("proposed duplicate rates", Bad("POST /earnings/what-if", nested("plan", service_rates=lambda v: [
            {"service_id": v.service, "role": "frontdesk", "amount_cents": 1},
            {"service_id": v.service, "role": "frontdesk", "amount_cents": 2}]), "plan.service_rates")),
        ("a proposed rate for an unknown service", Bad("POST /earnings/what-if", nested("plan", service_rates=[
            {"service_id": 999_999, "role": "operator", "amount_cents": 1}]), "plan.service_rates.0.service_id")),
    ],
    "checkout rules": [
        ("a booking with follow_up declined", Bad("POST /visits/<id>/checkout", put(follow_up="declined"), "booking")),
        ("a booking with follow_up not_needed", Bad("POST /visits/<id>/checkout", put(follow_up="not_needed"),
                                                    "booking")),
        ("a booking with follow_up undecided", Bad("POST /visits/<id>/checkout", put(follow_up="undecided"),
                                                   "booking")),
        ("booked without a booking", Bad("POST /visits/<id>/checkout", drop("booking"), "booking")),
        ("booked with a null booking", Bad("POST /visits/<id>/checkout", put(booking=None), "booking")),
        ("both a date and an interval", Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_date="2026-06-01", follow_up_interval_days=90),
            ("follow_up_date", "follow_up_interval_days"))),
        ("a follow-up date on the visit day", Bad("POST /visits/<id>/checkout", put(
            follow_up="undecided", booking=None, follow_up_date=lambda v: v.today), "follow_up_date")),
        ("a follow-up date before the visit", Bad("POST /visits/<id>/checkout", put(
            follow_up="declined", booking=None, follow_up_date="2026-02-01"), "follow_up_date")),
        ("a desk booking with an unknown service", Bad("POST /visits/<id>/checkout", nested(
            "booking", service_id=999_999), "booking.service_id")),
    ],
    "booking rules": [
        ("neither provider nor service", Bad("POST /bookings", drop("provider_id", "service_id"),
                                             ("service_id", "provider_id"))),
        ("a recall task without source recall_task", Bad("POST /bookings", put(recall_task_id=lambda v: v.task),
                                                         "recall_task_id")),
        ("a recall task with source new_request", Bad("POST /bookings", put(
            recall_task_id=lambda v: v.task, source="new_request"), "recall_task_id")),
        ("source recall_task without a task", Bad("POST /bookings", put(source="recall_task"), "recall_task_id")),
        ("source visit_checkout outside a checkout", Bad("POST /bookings", put(source="visit_checkout"), "source")),
        ("a recall task of another patient", Bad("POST /bookings", put(
            source="recall_task", recall_task_id=lambda v: v.task), "recall_task_id")),
        ("a recall task that does not exist", Bad("POST /bookings", put(
            source="recall_task", recall_task_id=999_999), "recall_task_id")),
        ("a patient who does not exist", Bad("POST /bookings", put(patient_id=999_999), "patient_id")),
        ("a provider who does not exist", Bad("POST /bookings", put(provider_id=999_999), "provider_id")),
        ("a visit for a patient who does not exist", Bad("POST /visits", put(patient_id=999_999), "patient_id")),
        ("a visit for another patient's booking", Bad("POST /visits", put(booking_id=lambda v: v.booking),
                                                      "booking_id")),
    ],
}

ALL_CASES = [pytest.param(case, id=f"{kind}: {name} ({case.endpoint})")
             for kind, cases in CASES.items() for name, case in cases]


@pytest.mark.parametrize("case", ALL_CASES)
def test_a_bad_request_is_refused_naming_the_field_and_writes_nothing(client, database, world, v, case):
    method, path, body, who = VALID[case.endpoint]
    bad = case.change(v, body(v))
    before = snapshot(database)
    response = _call(client, world, who, method, path(v), bad)
    assert_rejected(response, case.field)
    assert snapshot(database) == before, "the refused request wrote to the database"


# --- cases that need a little more than one body --------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_400_naming_the_body(client, database, world, v):
    api = api_as(client, world.a, "frontdesk")
    for raw in ['{"full_name": "Nils", "phone": ', "{not json", "full_name=Nils&phone=0701234567", "\x00\xff"]:
        with nothing_written(database):
            response = client.post("/api/v1/patients", data=raw, content_type="application/json",
                                   headers=api.headers)
        assert_rejected(response, "body", status=400)


@pytest.mark.parametrize("body", [[], [{"full_name": "Nils", "phone": "0701234567"}], "Nils", 42, True],
                         ids=["an empty array", "an array of the object", "a string", "a number", "true"])
def test_a_json_body_that_is_not_an_object_is_a_422_naming_the_body(client, database, world, v, body):
    with nothing_written(database):
        response = api_as(client, world.a, "frontdesk").post("/patients", json=body)
    assert_rejected(response, "body")


def test_a_request_missing_every_required_field_names_them_all(client, database, world, v):
    required = {
        "/patients": {"full_name", "phone"}, "/providers": {"name", "specialty"}, "/services": {"name"},
        "/staff": {"name", "role"}, "/bookings": {"patient_id", "start_at", "channel"}, "/visits": {"patient_id"},
        f"/visits/{v.visit}/checkout": {"follow_up"}, f"/bookings/{v.booking}/move": {"start_at"},
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
    response = desk.post(f"/visits/{v.visit}/checkout", json={
        "follow_up": "booked", "booking": {"start_at": v.ago(days=1), "service_id": v.service}})
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


@pytest.mark.parametrize("who,channel,staff", [
    ("operator", "phone", "operator"), ("operator", "phone", "operator2"), ("frontdesk", "in_person", "frontdesk"),
    ("frontdesk", "in_person", "frontdesk2")])
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


@pytest.mark.parametrize("raw,e164", [
    ("070-123 45 67", "+46701234567"),
    ("0701234567", "+46701234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("+48 512 345 678", "+48512345678"),
    ("0048 512 345 678", "+48512345678"),
    ("+7 912 345-67-89", "+79123456789"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("+1 (650) 253-0000", "+16502530000"),
])
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


INVALID_PHONES = ["12345", "070-123", "+46 70 123", "+999 123 456 789", "abc", "+48 000 000 000",
                  "070-123 45 67 89 00", "---"]


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
@pytest.mark.parametrize("args,field", [({"page": 0}, "page"), ({"page": -1}, "page"), ({"page": "two"}, "page"),
                                        ({"page_size": 0}, "page_size"), ({"page_size": 1000}, "page_size"),
                                        ({"page_size": 201}, "page_size"), ({"page_size": "all"}, "page_size")],
                         ids=lambda x: str(x) if not isinstance(x, dict) else "&".join(f"{k}={x[k]}" for k in x))
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


@pytest.mark.parametrize("path,args,field",
                         [pytest.param(p, a, f, id=f"{p}?{urlencode(a, safe=':')}") for p, a, f in QUERY_CASES])
def test_a_bad_query_argument_is_422_naming_it(client, database, world, v, path, args, field):
    with nothing_written(database):
        response = api_as(client, world.a, "manager").get(path, query_string=args)
    assert_rejected(response, field)


def test_another_staff_members_earnings_check_their_range_too(client, world, v):
    response = api_as(client, world.a, "manager").get(f"/earnings/staff/{v.staff['operator']}",
                                                      query_string={"from": "2026-03-10", "to": "2026-03-01"})
    assert_rejected(response, "to")


# --- the garbage sweep ------------------------------------------------------------------------------------------------

PATH_IDS = {"booking_id": "booking", "visit_id": "visit", "patient_id": "patient", "provider_id": "provider",
            "service_id": "service", "task_id": "task"}
WEIRD: list[Any] = [
    None, "", " ", LONG, "Zoë Ørsted 张伟 Ёлка ąęł 🦷\u200b\u202e", "\x00", "nul\x00inside", "\ud800", "\uffff",
    0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, 3.5, True, False,
    [], [None], {}, {"$gt": ""}, [[[[[]]]]], {"a": {"b": {"c": [1, "x", None]}}},
    "2026-03-09T09:00:00Z", "1970-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "9999-12-31", "0000-00-00",
]


def _write_endpoints(app: Any) -> list[tuple[str, str]]:
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
                  for method in rule.methods & {"POST", "PATCH", "PUT"})


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
        alphabet = "abc XYZ 0123456789 +-:/.T Z ä ö ł ж 中 🦷 \u0301 \t\n\"\\"
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
                for value in (None, LONG, 10**30, 2**63, "\ud800", "\x00", [], {}, "9999-12-31T23:59:59Z",
                              "0001-01-01T00:00:00Z", "9999-12-31"):
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
    ("POST", "/api/v1/patients"), ("PATCH", "/api/v1/patients/<int:patient_id>"),
    ("POST", "/api/v1/providers"), ("PATCH", "/api/v1/providers/<int:provider_id>"),
    ("POST", "/api/v1/services"), ("PATCH", "/api/v1/services/<int:service_id>"),
    ("POST", "/api/v1/staff"), ("PATCH", "/api/v1/staff/<int:staff_id>"),
    ("POST", "/api/v1/staff/<int:staff_id>/tokens"), ("PATCH", "/api/v1/clinic"), ("PUT", "/api/v1/clinic/pay-plan"),
    ("POST", "/api/v1/earnings/what-if"), ("POST", "/api/v1/bookings"),
    ("POST", "/api/v1/bookings/<int:booking_id>/move"), ("POST", "/api/v1/bookings/<int:booking_id>/cancel"),
    ("POST", "/api/v1/bookings/<int:booking_id>/confirm"), ("POST", "/api/v1/bookings/<int:booking_id>/attend"),
    ("POST", "/api/v1/bookings/<int:booking_id>/no-show"), ("POST", "/api/v1/visits"),
    ("POST", "/api/v1/visits/<int:visit_id>/checkout"),
]


def test_the_sweep_covers_every_endpoint_that_takes_a_body(app):
    assert set(_write_endpoints(app)) == set(SWEPT), "add new POST/PATCH/PUT endpoints to SWEPT (and VALID)"


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
            return create_patient(s, clock, world.a.clinic.id, {"full_name": "Sweep", "phone": "070-765 43 21"}).id

    def target() -> str:
        """The URL for the next payload. A checkout, cancel or move that succeeds changes its target, and a
        later payload would then stop at a 409 before reaching the code under test: give each its own."""
        ids = {"staff_id": v.staff["operator2"], **{arg: getattr(v, attr) for arg, attr in PATH_IDS.items()}}
        if rule.endswith("/checkout"):
            with database.writer() as s:
                ids["visit_id"] = check_in(s, clock, actor_of(world.a.staff["frontdesk"]), patient_id=fresh_patient(),
                                           provider_id=v.provider, service_id=v.service).id
        if rule.endswith(("/cancel", "/move")):
            with database.writer() as s:
                ids["booking_id"] = create_booking(s, clock, actor_of(world.a.staff["operator"]), BookingRequest(
                    patient_id=fresh_patient(), service_id=v.service, channel=Channel.PHONE,
                    start_at=future(clock, days=3))).id
        return re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule)

    crashes, shapeless = [], []
    for payload in _garbage(valid, fields, seed=key):
        response = client.open(target(), method=method, headers=headers, data=json.dumps(payload),
                               content_type="application/json")
        if response.status_code >= 500:
            crashes.append(f"{response.status_code} <- {_describe(payload, valid)}")
        elif response.status_code >= 400:
            body = response.get_json(silent=True)
            if not (isinstance(body, dict) and {"code", "status", "error", "message"} <= body.keys()):
                shapeless.append(f"{response.status_code} {response.get_data(as_text=True)[:80]!r} <- "
                                 f"{_describe(payload, valid)}")
        elif key == "POST /bookings":
            # Free the slot, so the next payload is not refused as an overlapping booking.
            freed = client.post(f"/api/v1/bookings/{response.json['id']}/cancel", headers=headers, json={})
            assert freed.status_code == 200, freed.get_json()
    assert not crashes, f"{len(crashes)} requests to {key} crashed the service:\n" + "\n".join(crashes[:40])
    assert not shapeless, "refusals outside the error shape:\n" + "\n".join(shapeless[:20])


def test_a_json_body_nested_too_deep_is_refused_not_a_crash(client, database, world, v):
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        with nothing_written(database):
            response = client.post("/api/v1/patients", data=deep, content_type="application/json",
                                   headers=api_as(client, world.a, "frontdesk").headers)
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
                response = api_as(client, world.a, "manager")._call(method, url,
                                                                    **({"json": body} if body is not None else {}))
                if response.status_code != 404:
                    crashes.append(f"{method} {url}: {response.status_code}")
    assert not crashes, "\n".join(crashes)


@pytest.mark.parametrize("query", [
    "/bookings?patient_id={n}", "/bookings?provider_id={n}", "/bookings?credited_staff_id={n}",
    "/visits?patient_id={n}", "/recall-tasks?patient_id={n}", "/recall-tasks?service_id={n}", "/ledger?staff_id={n}",
    "/patients?page={n}", "/bookings?page={n}"])
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
    names = ["Zoë Ørsted", "Katarzyna Wąsowska-Łęczyńska", "Ёлкин Пётр", "张伟", "O'Brien \"Doc\" 🦷"]
    desk = api_as(client, world.a, "frontdesk")
    for name in names:
        made = desk.post("/patients", json={"full_name": name, "phone": "+46 70 765 43 21"})
        assert made.status_code == 201, made.get_json()
        assert desk.get(f"/patients/{made.json['id']}").json["full_name"] == name
    found = desk.get("/patients", query_string={"q": "Łęczy"})
    assert [p["full_name"] for p in found.json["items"]] == ["Katarzyna Wąsowska-Łęczyńska"]
