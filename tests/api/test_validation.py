"""Every way a request body can be wrong, and what the caller gets back.

Each refusal is a 400 (a body that is not JSON) or a 422 (anything else), in the
one error shape, with ``fields`` naming the offending field (nested names joined
with dots: "booking.start_at"), and nothing is written: every table is read
before and after the request and must be the same. The valid requests that the
table below varies are in valid.py; the rules that need more than one body, and
the query arguments, are in test_validation_rules.py; garbage and inputs too
large or too deep for the service are in test_input_limits.py.
"""

from __future__ import annotations

import pytest

from tests.api.bad import Bad, call_as, check_refused, drop, nested, params, put, rate
from tests.api.valid import LONG, VALID

# --- the valid requests (VALID in valid.py), each varied below in one field ------------------------------------------


@pytest.mark.parametrize("name", list(VALID))
def test_the_valid_request_that_the_cases_vary_is_accepted(client, world, v, name):
    method, path, body, who = VALID[name]
    response = call_as(client, world, who, method, path(v), body(v))
    assert 200 <= response.status_code < 300, (response.status_code, response.get_json())


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
        (
            "an object for the phone in an edit",
            Bad("PATCH /patients/<id>", put(phone={"number": "0701234567"}), "phone"),
        ),
        ('"no" for consent_call in an edit', Bad("PATCH /patients/<id>", put(consent_call="no"), "consent_call")),
        ("a number for a provider's name", Bad("POST /providers", put(name=7), "name")),
        ("a boolean for the specialty", Bad("POST /providers", put(specialty=True), "specialty")),
        ('"no" for a provider\'s active', Bad("PATCH /providers/<id>", put(active="no"), "active")),
        ('"30" for the duration', Bad("POST /services", put(duration_minutes="30"), "duration_minutes")),
        ("30.5 for the duration", Bad("POST /services", put(duration_minutes=30.5), "duration_minutes")),
        (
            '"180" for the interval',
            Bad("POST /services", put(follow_up_interval_days="180"), "follow_up_interval_days"),
        ),
        ('"yes" for a service\'s active', Bad("PATCH /services/<id>", put(active="yes"), "active")),
        ("a number for a staff name", Bad("POST /staff", put(name=42), "name")),
        ("a number for the role", Bad("POST /staff", put(role=3), "role")),
        ("a number for the email", Bad("POST /staff", put(email=5), "email")),
        ('"yes" for a staff member\'s active', Bad("PATCH /staff/<id>", put(active="yes"), "active")),
        ("1 for a staff member's active", Bad("PATCH /staff/<id>", put(active=1), "active")),
        ("a number for a token label", Bad("POST /staff/<id>/tokens", put(label=5), "label")),
        ("a number for the clinic name", Bad("PATCH /clinic", put(name=5), "name")),
        (
            '"72" for the cooling-off',
            Bad("PATCH /clinic", put(recall_cooling_off_hours="72"), "recall_cooling_off_hours"),
        ),
        (
            "1.5 for the cooling-off",
            Bad("PATCH /clinic", put(recall_cooling_off_hours=1.5), "recall_cooling_off_hours"),
        ),
        ("a number for a calling hour", Bad("PATCH /clinic", put(calling_weekday_start=900), "calling_weekday_start")),
        ("a number for the region", Bad("PATCH /clinic", put(phone_region=46), "phone_region")),
        (
            '"1000" for a base amount',
            Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents="1000"), "frontdesk_base_cents"),
        ),
        ("10.5 for a base amount", Bad("PUT /clinic/pay-plan", put(operator_base_cents=10.5), "operator_base_cents")),
        ("a word for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier="many"), "recall_multiplier")),
        ("true for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=True), "recall_multiplier")),
        ("an object for the service rates", Bad("PUT /clinic/pay-plan", put(service_rates={}), "service_rates")),
        ("a number as a service rate", Bad("PUT /clinic/pay-plan", put(service_rates=[5]), "service_rates.0")),
        (
            '"1500" for a rate amount',
            Bad("PUT /clinic/pay-plan", rate(amount_cents="1500"), "service_rates.0.amount_cents"),
        ),
        (
            "a string for a rate's service",
            Bad("PUT /clinic/pay-plan", rate(service_id="1"), "service_rates.0.service_id"),
        ),
        ("a number for from", Bad("POST /earnings/what-if", put(**{"from": 20260101}), "from")),
        ("a list for the plan", Bad("POST /earnings/what-if", put(plan=[]), "plan")),
        ("a string for the plan", Bad("POST /earnings/what-if", put(plan="generous"), "plan")),
        ('"1" for the patient id', Bad("POST /bookings", put(patient_id=lambda v: str(v.patient)), "patient_id")),
        ("true for the patient id", Bad("POST /bookings", put(patient_id=True), "patient_id")),
        ("1.0 for the provider id", Bad("POST /bookings", put(provider_id=lambda v: float(v.provider)), "provider_id")),
        ("a number for start_at", Bad("POST /bookings", put(start_at=1773046800), "start_at")),
        ("a number for the channel", Bad("POST /bookings", put(channel=1), "channel")),
        ("a number for the note", Bad("POST /bookings", put(note=5), "note")),
        ("a string for the recall task id", Bad("POST /bookings", put(recall_task_id="x"), "recall_task_id")),
        ("a string for on_behalf_of", Bad("POST /bookings", put(on_behalf_of_staff_id="me"), "on_behalf_of_staff_id")),
        ("a number for the move's start", Bad("POST /bookings/<id>/move", put(start_at=5), "start_at")),
        ('"2" for the move\'s provider', Bad("POST /bookings/<id>/move", put(provider_id="2"), "provider_id")),
        ("a number for the cancel reason", Bad("POST /bookings/<id>/cancel", put(reason=5), "reason")),
        ('"1" for the visit\'s patient', Bad("POST /visits", put(patient_id=lambda v: str(v.patient2)), "patient_id")),
        ("a list for the visit's service", Bad("POST /visits", put(service_id=[1]), "service_id")),
        ("a word for the visit's booking", Bad("POST /visits", put(booking_id="x"), "booking_id")),
        ("a number for follow_up", Bad("POST /visits/<id>/checkout", put(follow_up=1), "follow_up")),
        (
            "a number for follow_up_date",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_date=20260401),
                "follow_up_date",
            ),
        ),
        (
            '"30" for follow_up_interval_days',
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_interval_days="30"),
                "follow_up_interval_days",
            ),
        ),
        ("a string for the booking", Bad("POST /visits/<id>/checkout", put(booking="tomorrow"), "booking")),
        ("a list for the booking", Bad("POST /visits/<id>/checkout", put(booking=[]), "booking")),
        ("a number for the checkout note", Bad("POST /visits/<id>/checkout", put(note=7), "note")),
        (
            '"2" for the booking\'s provider',
            Bad("POST /visits/<id>/checkout", nested("booking", provider_id="2"), "booking.provider_id"),
        ),
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
        (
            "the checkout booking's start",
            Bad(
                "POST /visits/<id>/checkout",
                lambda v, b: {**b, "booking": {"service_id": v.service}},
                "booking.start_at",
            ),
        ),
        ("the multiplier", Bad("PUT /clinic/pay-plan", drop("recall_multiplier"), "recall_multiplier")),
        (
            "a rate's role",
            Bad(
                "PUT /clinic/pay-plan",
                lambda v, b: {**b, "service_rates": [{"service_id": v.service, "amount_cents": 5}]},
                "service_rates.0.role",
            ),
        ),
        ("the what-if's to", Bad("POST /earnings/what-if", drop("to"), "to")),
        ("the what-if's plan", Bad("POST /earnings/what-if", drop("plan"), "plan")),
        (
            "the what-if plan's multiplier",
            Bad(
                "POST /earnings/what-if",
                lambda v, b: {**b, "plan": {k: x for k, x in b["plan"].items() if k != "recall_multiplier"}},
                "plan.recall_multiplier",
            ),
        ),
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
        (
            "the checkout booking's patient",
            Bad("POST /visits/<id>/checkout", nested("booking", patient_id=1), "booking.patient_id"),
        ),
        (
            "the checkout booking's channel",
            Bad("POST /visits/<id>/checkout", nested("booking", channel="phone"), "booking.channel"),
        ),
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
        (
            "a ten-year interval",
            Bad("PATCH /services/<id>", put(follow_up_interval_days=3651), "follow_up_interval_days"),
        ),
        ("a negative cooling-off", Bad("PATCH /clinic", put(recall_cooling_off_hours=-1), "recall_cooling_off_hours")),
        (
            "a cooling-off over a year",
            Bad("PATCH /clinic", put(recall_cooling_off_hours=8761), "recall_cooling_off_hours"),
        ),
        (
            "a zero checkout interval",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_interval_days=0),
                "follow_up_interval_days",
            ),
        ),
        (
            "a ten-year checkout interval",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_interval_days=3651),
                "follow_up_interval_days",
            ),
        ),
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
        (
            "a 501-character desk booking note",
            Bad("POST /visits/<id>/checkout", nested("booking", note="n" * 501), "booking.note"),
        ),
        ("a 100,000-character name", Bad("POST /patients", put(full_name=LONG), "full_name")),
    ],
}


@pytest.mark.parametrize("case", params(CASES))
def test_a_bad_request_is_refused_naming_the_field_and_writes_nothing(client, database, world, v, case):
    check_refused(client, database, world, v, case)
