"""Bad requests that break a domain rule rather than a field's shape: zones, regions, currencies and calling
hours, dates and times, the pay plan, checkout and booking rules. Each is refused as test_validation's are: a
422 naming the field, and nothing written.
"""

from __future__ import annotations

import pytest

from tests.api.bad import Bad, check_refused, drop, nested, params, put, rate

CASES: dict[str, list[tuple[str, Bad]]] = {
    "zone, region, currency and calling hours": [
        ("a zone on Mars", Bad("PATCH /clinic", put(timezone="Mars/Olympus"), "timezone")),
        ("a zone in the wrong case", Bad("PATCH /clinic", put(timezone="europe/stockholm"), "timezone")),
        ("a zone that is a path", Bad("PATCH /clinic", put(timezone="../../etc/passwd"), "timezone")),
        ("an offset instead of a zone", Bad("PATCH /clinic", put(timezone="UTC+2"), "timezone")),
        ("a patient zone that does not exist", Bad("PATCH /patients/<id>", put(timezone="Nowhere/City"), "timezone")),
        (
            "a new patient's zone that does not exist",
            Bad("POST /patients", put(timezone="Europe/Atlantis"), "timezone"),
        ),
        ("an unknown region", Bad("PATCH /clinic", put(phone_region="XX"), "phone_region")),
        ("a region with a digit", Bad("PATCH /clinic", put(phone_region="S1"), "phone_region")),
        ("a currency with a digit", Bad("PATCH /clinic", put(currency="E1R"), "currency")),
        ("a currency that ISO 4217 does not know", Bad("PATCH /clinic", put(currency="QQQ"), "currency")),
        (
            "a weekday end before the start",
            Bad(
                "PATCH /clinic", put(calling_weekday_start="18:00", calling_weekday_end="10:00"), "calling_weekday_end"
            ),
        ),
        (
            "a weekday end before the current start",
            Bad("PATCH /clinic", lambda v, b: {"calling_weekday_end": "08:00"}, "calling_weekday_end"),
        ),
        (
            "a weekend end equal to the start",
            Bad(
                "PATCH /clinic", put(calling_weekend_start="12:00", calling_weekend_end="12:00"), "calling_weekend_end"
            ),
        ),
        ("25 o'clock", Bad("PATCH /clinic", put(calling_weekday_end="25:00"), "calling_weekday_end")),
        ("half past 24", Bad("PATCH /clinic", put(calling_weekday_end="24:30"), "calling_weekday_end")),
        ("sixty minutes", Bad("PATCH /clinic", put(calling_weekday_start="09:60"), "calling_weekday_start")),
        ("a one-digit hour", Bad("PATCH /clinic", put(calling_weekday_start="9:00"), "calling_weekday_start")),
        ("noon in words", Bad("PATCH /clinic", put(calling_weekend_start="noon"), "calling_weekend_start")),
        ("an empty calling hour", Bad("PATCH /clinic", put(calling_weekend_end=""), "calling_weekend_end")),
        (
            "seconds in a calling hour",
            Bad("PATCH /clinic", put(calling_weekday_start="09:00:00"), "calling_weekday_start"),
        ),
    ],
    "dates and times": [
        ("a start without an offset", Bad("POST /bookings", put(start_at="2026-03-09T09:00:00"), "start_at")),
        ("a start that is only a date", Bad("POST /bookings", put(start_at="2026-03-09"), "start_at")),
        ("a start in words", Bad("POST /bookings", put(start_at="next tuesday"), "start_at")),
        ("a start on February 30th", Bad("POST /bookings", put(start_at="2026-02-30T09:00:00Z"), "start_at")),
        ("a start yesterday", Bad("POST /bookings", put(start_at=lambda v: v.ago(days=1)), "start_at")),
        ("a start ten minutes ago", Bad("POST /bookings", put(start_at=lambda v: v.ago(minutes=10)), "start_at")),
        (
            "an end without an offset",
            Bad("POST /bookings", put(start_at="2026-03-09T09:00:00Z", end_at="2026-03-09T09:30:00"), "end_at"),
        ),
        (
            "an end before the start",
            Bad("POST /bookings", put(start_at="2026-03-09T09:00:00Z", end_at="2026-03-09T08:30:00Z"), "end_at"),
        ),
        (
            "an end equal to the start",
            Bad("POST /bookings", put(start_at="2026-03-09T09:00:00+01:00", end_at="2026-03-09T08:00:00Z"), "end_at"),
        ),
        (
            "a booking of thirteen hours",
            Bad("POST /bookings", put(start_at="2026-03-09T06:00:00Z", end_at="2026-03-09T19:00:00Z"), "end_at"),
        ),
        ("a move without an offset", Bad("POST /bookings/<id>/move", put(start_at="2026-03-10T10:00:00"), "start_at")),
        ("a move into the past", Bad("POST /bookings/<id>/move", put(start_at=lambda v: v.ago(hours=2)), "start_at")),
        (
            "a move ending before it starts",
            Bad(
                "POST /bookings/<id>/move",
                put(start_at="2026-03-10T10:00:00Z", end_at="2026-03-10T09:00:00Z"),
                "end_at",
            ),
        ),
        (
            "a desk booking without an offset",
            Bad("POST /visits/<id>/checkout", nested("booking", start_at="2026-04-01T09:00:00"), "booking.start_at"),
        ),
        (
            "a desk booking in the past",
            Bad("POST /visits/<id>/checkout", nested("booking", start_at=lambda v: v.ago(days=2)), "booking.start_at"),
        ),
        (
            "a desk booking ending before it starts",
            Bad(
                "POST /visits/<id>/checkout",
                nested("booking", start_at="2026-04-01T09:00:00Z", end_at="2026-04-01T08:00:00Z"),
                "booking.end_at",
            ),
        ),
        ("a what-if from February 30th", Bad("POST /earnings/what-if", put(**{"from": "2026-02-30"}), "from")),
        (
            "a what-if ending before it starts",
            Bad("POST /earnings/what-if", put(**{"from": "2026-02-01", "to": "2026-01-01"}), "to"),
        ),
        (
            "a what-if over three years",
            Bad("POST /earnings/what-if", put(**{"from": "2023-01-01", "to": "2026-01-01"}), "to"),
        ),
        (
            "a date of birth that does not exist",
            Bad("POST /patients", put(date_of_birth="1980-02-30"), "date_of_birth"),
        ),
    ],
    "pay plan": [
        ("a multiplier below 1", Bad("PUT /clinic/pay-plan", put(recall_multiplier=0.99), "recall_multiplier")),
        ("a zero multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=0), "recall_multiplier")),
        ("a negative multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier=-2), "recall_multiplier")),
        (
            "a multiplier just over 100",
            Bad("PUT /clinic/pay-plan", put(recall_multiplier=100.001), "recall_multiplier"),
        ),
        ("a multiplier of 101", Bad("PUT /clinic/pay-plan", put(recall_multiplier=101), "recall_multiplier")),
        (
            "a multiplier with four decimals",
            Bad("PUT /clinic/pay-plan", put(recall_multiplier=1.2345), "recall_multiplier"),
        ),
        (
            "a multiplier with four decimals as text",
            Bad("PUT /clinic/pay-plan", put(recall_multiplier="1.0001"), "recall_multiplier"),
        ),
        ("NaN for the multiplier", Bad("PUT /clinic/pay-plan", put(recall_multiplier="NaN"), "recall_multiplier")),
        (
            "infinity for the multiplier",
            Bad("PUT /clinic/pay-plan", put(recall_multiplier="Infinity"), "recall_multiplier"),
        ),
        (
            "negative front-desk cents",
            Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents=-1), "frontdesk_base_cents"),
        ),
        ("negative operator cents", Bad("PUT /clinic/pay-plan", put(operator_base_cents=-500), "operator_base_cents")),
        (
            "a billion and one cents",
            Bad("PUT /clinic/pay-plan", put(frontdesk_base_cents=10**9 + 1), "frontdesk_base_cents"),
        ),
        ("negative rate cents", Bad("PUT /clinic/pay-plan", rate(amount_cents=-1), "service_rates.0.amount_cents")),
        (
            "two rates for one service and role",
            Bad(
                "PUT /clinic/pay-plan",
                lambda v, b: {
                    **b,
                    "service_rates": [
                        {"service_id": v.service, "role": "operator", "amount_cents": 1500},
                        {"service_id": v.service, "role": "operator", "amount_cents": 1700},
                    ],
                },
                "service_rates",
            ),
        ),
        (
            "a rate for an unknown service",
            Bad("PUT /clinic/pay-plan", rate(service_id=999_999), "service_rates.0.service_id"),
        ),
        (
            "a rate for another clinic's service",
            Bad("PUT /clinic/pay-plan", rate(service_id=lambda v: v.b_service), "service_rates.0.service_id"),
        ),
        (
            "a proposed multiplier below 1",
            Bad("POST /earnings/what-if", nested("plan", recall_multiplier=0.5), "plan.recall_multiplier"),
        ),
        (
            "a proposed multiplier over 100",
            Bad("POST /earnings/what-if", nested("plan", recall_multiplier=250), "plan.recall_multiplier"),
        ),
        (
            "a proposed multiplier with four decimals",
            Bad("POST /earnings/what-if", nested("plan", recall_multiplier=1.2345), "plan.recall_multiplier"),
        ),
        (
            "proposed negative cents",
            Bad("POST /earnings/what-if", nested("plan", operator_base_cents=-1), "plan.operator_base_cents"),
        ),
        (
            "proposed duplicate rates",
            Bad(
                "POST /earnings/what-if",
                nested(
                    "plan",
                    service_rates=lambda v: [
                        {"service_id": v.service, "role": "frontdesk", "amount_cents": 1},
                        {"service_id": v.service, "role": "frontdesk", "amount_cents": 2},
                    ],
                ),
                "plan.service_rates",
            ),
        ),
        (
            "a proposed rate for an unknown service",
            Bad(
                "POST /earnings/what-if",
                nested("plan", service_rates=[{"service_id": 999_999, "role": "operator", "amount_cents": 1}]),
                "plan.service_rates.0.service_id",
            ),
        ),
    ],
    "checkout rules": [
        ("a booking with follow_up declined", Bad("POST /visits/<id>/checkout", put(follow_up="declined"), "booking")),
        (
            "a booking with follow_up not_needed",
            Bad("POST /visits/<id>/checkout", put(follow_up="not_needed"), "booking"),
        ),
        (
            "a booking with follow_up undecided",
            Bad("POST /visits/<id>/checkout", put(follow_up="undecided"), "booking"),
        ),
        ("booked without a booking", Bad("POST /visits/<id>/checkout", drop("booking"), "booking")),
        ("booked with a null booking", Bad("POST /visits/<id>/checkout", put(booking=None), "booking")),
        (
            "both a date and an interval",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_date="2026-06-01", follow_up_interval_days=90),
                ("follow_up_date", "follow_up_interval_days"),
            ),
        ),
        (
            "a follow-up date on the visit day",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="undecided", booking=None, follow_up_date=lambda v: v.today),
                "follow_up_date",
            ),
        ),
        (
            "a follow-up date before the visit",
            Bad(
                "POST /visits/<id>/checkout",
                put(follow_up="declined", booking=None, follow_up_date="2026-02-01"),
                "follow_up_date",
            ),
        ),
        (
            "a desk booking with an unknown service",
            Bad("POST /visits/<id>/checkout", nested("booking", service_id=999_999), "booking.service_id"),
        ),
    ],
    "booking rules": [
        (
            "neither provider nor service",
            Bad("POST /bookings", drop("provider_id", "service_id"), ("service_id", "provider_id")),
        ),
        (
            "a recall task without source recall_task",
            Bad("POST /bookings", put(recall_task_id=lambda v: v.task), "recall_task_id"),
        ),
        (
            "a recall task with source new_request",
            Bad("POST /bookings", put(recall_task_id=lambda v: v.task, source="new_request"), "recall_task_id"),
        ),
        ("source recall_task without a task", Bad("POST /bookings", put(source="recall_task"), "recall_task_id")),
        ("source visit_checkout outside a checkout", Bad("POST /bookings", put(source="visit_checkout"), "source")),
        (
            "a recall task of another patient",
            Bad("POST /bookings", put(source="recall_task", recall_task_id=lambda v: v.task), "recall_task_id"),
        ),
        (
            "a recall task that does not exist",
            Bad("POST /bookings", put(source="recall_task", recall_task_id=999_999), "recall_task_id"),
        ),
        ("a patient who does not exist", Bad("POST /bookings", put(patient_id=999_999), "patient_id")),
        ("a provider who does not exist", Bad("POST /bookings", put(provider_id=999_999), "provider_id")),
        ("a visit for a patient who does not exist", Bad("POST /visits", put(patient_id=999_999), "patient_id")),
        (
            "a visit for another patient's booking",
            Bad("POST /visits", put(booking_id=lambda v: v.booking), "booking_id"),
        ),
    ],
}


@pytest.mark.parametrize("case", params(CASES))
def test_a_request_breaking_a_domain_rule_is_refused_naming_the_field_and_writes_nothing(
    client, database, world, v, case
):
    check_refused(client, database, world, v, case)
