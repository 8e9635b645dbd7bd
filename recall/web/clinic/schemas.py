from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma

from recall.clinic.clinics import HOLDOUT_MAX_PERCENT, NULLABLE_RULES, QUEUE_RULES
from recall.common.errors import ValidationError as DomainValidationError
from recall.common.timeutil import format_hhmm
from recall.credit.payplan import EARNING_ROLES, MAX_CENTS, PlanTerms
from recall.web.common import Id, Input, Output, StaffRole, StrictDecimal, strict_bool

HHMM = ma.validate.Regexp(r"^([01]\d|2[0-4]):[0-5]\d$", error="must be a time of day as HH:MM")


class ClinicSchema(Output):
    id = ma.fields.Integer()
    name = ma.fields.String()
    timezone = ma.fields.String()
    phone_region = ma.fields.String()
    currency = ma.fields.String()
    recall_cooling_off_hours = ma.fields.Integer()
    calling_weekday_start = ma.fields.Function(lambda c: format_hhmm(c.calling_weekday_start))
    calling_weekday_end = ma.fields.Function(lambda c: format_hhmm(c.calling_weekday_end))
    calling_weekend_start = ma.fields.Function(lambda c: format_hhmm(c.calling_weekend_start))
    calling_weekend_end = ma.fields.Function(lambda c: format_hhmm(c.calling_weekend_end))
    recall_lease_minutes = ma.fields.Integer()
    recall_max_attempts = ma.fields.Integer()
    recall_backoff_minutes = ma.fields.List(ma.fields.Integer())
    recall_callback_hold_minutes = ma.fields.Integer()
    surge_backlog = ma.fields.Integer(allow_none=True)
    surge_overdue_days = ma.fields.Integer(allow_none=True)
    surge_overdue_tasks = ma.fields.Integer()
    text_retention_days = ma.fields.Integer(metadata={"description": "Days SMS texts and webhook receipts are kept."})
    twilio_account_sid = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The clinic's own Twilio account; null: the service-wide one. Its auth token is never shown."
        },
    )
    has_own_twilio_account = ma.fields.Boolean()
    reminder_holdout_percent = ma.fields.Integer(
        metadata={"description": "The whole percent of bookings held out from automated reminders; 0: off."}
    )
    holdout_human_calls = ma.fields.Boolean(
        metadata={"description": "Whether held-out bookings still get the human reminder calls the policy names."}
    )


def _rule(name: str, description: str) -> ma.fields.Integer:
    low, high = QUEUE_RULES[name]
    return ma.fields.Integer(
        strict=True,
        allow_none=name in NULLABLE_RULES,
        validate=ma.validate.Range(min=low, max=high),
        metadata={"description": description},
    )


class ClinicUpdateSchema(Input):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    timezone = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    phone_region = ma.fields.String(validate=ma.validate.Length(equal=2))
    currency = ma.fields.String(validate=ma.validate.Length(equal=3))
    recall_cooling_off_hours = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=8760))
    calling_weekday_start = ma.fields.String(validate=HHMM)
    calling_weekday_end = ma.fields.String(validate=HHMM)
    calling_weekend_start = ma.fields.String(validate=HHMM)
    calling_weekend_end = ma.fields.String(validate=HHMM)
    recall_lease_minutes = _rule("recall_lease_minutes", "How long a claimed task stays with its operator.")
    recall_max_attempts = _rule("recall_max_attempts", "Unanswered attempts before a task ends as unreachable.")
    recall_backoff_minutes = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.Range(min=5, max=43200)),
        validate=ma.validate.Length(min=1, max=10),
        metadata={"description": "Waits after the 1st, 2nd, ... unanswered attempt; the last one repeats."},
    )
    recall_callback_hold_minutes = _rule(
        "recall_callback_hold_minutes", "How long a requested callback is kept for the operator who took it."
    )
    surge_backlog = _rule("surge_backlog", "A surge starts when this many tasks are due; null: never.")
    surge_overdue_days = _rule(
        "surge_overdue_days", "A surge starts when surge_overdue_tasks tasks are this many days overdue; null: never."
    )
    surge_overdue_tasks = _rule("surge_overdue_tasks", "See surge_overdue_days.")
    text_retention_days = _rule(
        "text_retention_days",
        "Days the SMS texts patients send and Twilio's webhook receipts are kept; the worker purges older ones.",
    )
    twilio_account_sid = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Regexp(r"^AC[0-9a-fA-F]{32}$", error="must be AC and 32 hex digits"),
        metadata={
            "description": "The clinic's own Twilio account or subaccount, given with its auth token; null "
            "goes back to the service-wide account."
        },
    )
    reminder_holdout_percent = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=0, max=HOLDOUT_MAX_PERCENT),
        metadata={
            "description": "Hold out this whole percent of new bookings from automated reminders (SMS, voice "
            "calls), to measure what reminders do to no-shows (GET /reports/no-shows); 0, the default, is off. "
            "A booking's side is decided by a salted SHA-256 hash of the booking when its reminders are first "
            "planned, and kept: changing the share re-labels no booking already planned."
        },
    )
    holdout_human_calls = strict_bool(
        metadata={"description": "Whether held-out bookings still get the human reminder calls the policy names."}
    )
    twilio_auth_token = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=32, max=64),
        metadata={
            "description": "Write-only: the auth token of twilio_account_sid (alone: replaces the current "
            "account's). Stored encrypted, never returned."
        },
    )


class ServiceRateSchema(Input):
    service_id = Id(required=True, strict=True)
    role = StaffRole(
        required=True,
        validate=ma.validate.OneOf(EARNING_ROLES, error="must be frontdesk or operator"),
    )
    amount_cents = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0, max=MAX_CENTS))


class PayPlanInputSchema(Input):
    frontdesk_base_cents = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=0, max=MAX_CENTS)
    )
    operator_base_cents = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=0, max=MAX_CENTS)
    )
    recall_multiplier = StrictDecimal(
        required=True, places=None, allow_nan=False, validate=ma.validate.Range(min=1, max=100)
    )
    service_rates = ma.fields.List(ma.fields.Nested(ServiceRateSchema), load_default=list)

    @ma.validates_schema
    def _unique_rates(self, data: dict[str, Any], **_kw: Any) -> None:
        keys = [(r["service_id"], r["role"]) for r in data.get("service_rates", [])]
        if len(keys) != len(set(keys)):
            raise ma.ValidationError("one amount per service and role", field_name="service_rates")

    @ma.post_load
    def _terms(self, data: dict[str, Any], **_kw: Any) -> PlanTerms:
        try:
            return PlanTerms(
                frontdesk_base_cents=data["frontdesk_base_cents"],
                operator_base_cents=data["operator_base_cents"],
                recall_multiplier=Decimal(data["recall_multiplier"]),
                service_rates={(r["service_id"], r["role"]): r["amount_cents"] for r in data["service_rates"]},
            )
        except DomainValidationError as exc:  # reported under this schema's place in the request
            raise ma.ValidationError(exc.fields) from None


class PayPlanSchema(Output):
    frontdesk_base_cents = ma.fields.Integer()
    operator_base_cents = ma.fields.Integer()
    recall_multiplier = ma.fields.Function(lambda t: float(t.recall_multiplier))
    service_rates = ma.fields.Function(
        lambda t: [
            {"service_id": sid, "role": role.value, "amount_cents": cents}
            for (sid, role), cents in sorted(t.service_rates.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
        ]
    )
    version = ma.fields.Integer()
