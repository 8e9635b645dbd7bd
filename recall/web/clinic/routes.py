"""The caller's own clinic: its settings and its pay plan."""

from __future__ import annotations

from typing import Any

from flask import current_app

from recall.clinic import clinics
from recall.credit import payplan
from recall.credit.payplan import PlanTerms
from recall.reminders import accounts as clinic_accounts
from recall.web.auth import any_staff, manager_only
from recall.web.clinic.schemas import ClinicSchema, ClinicUpdateSchema, PayPlanInputSchema, PayPlanSchema
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint

blp = Blueprint("clinic", __name__, description="The caller's clinic, its settings and pay plan")


@blp.route("/clinic", methods=["GET"])
@any_staff
@blp.response(200, ClinicSchema)
def get_clinic() -> Any:
    return clinics.get_clinic(session(), actor().clinic_id)


@blp.route("/clinic", methods=["PATCH"])
@manager_only
@blp.arguments(ClinicUpdateSchema)
@blp.response(200, ClinicSchema)
def update_clinic(changes: dict[str, Any]) -> Any:
    """The settings, and the clinic's own Twilio account (its token write-only), in one transaction."""
    clinic_accounts.apply_account(
        session(),
        actor().clinic_id,
        changes,
        service_account_sid=current_app.config.get("TWILIO_ACCOUNT_SID"),
        sealer=clinic_accounts.Sealer.from_setting(current_app.config.get("TWILIO_CREDENTIALS_KEY")),
    )
    rest = {k: v for k, v in changes.items() if k not in clinic_accounts.FIELDS}
    return clinics.update_clinic(session(), actor(), rest)  # commits both


@blp.route("/clinic/pay-plan", methods=["GET"])
@any_staff
@blp.response(200, PayPlanSchema)
def get_pay_plan() -> Any:
    return payplan.load_terms(session(), actor().clinic_id)


@blp.route("/clinic/pay-plan", methods=["PUT"])
@manager_only
@blp.arguments(PayPlanInputSchema)
@blp.response(200, PayPlanSchema)
def replace_pay_plan(terms: PlanTerms) -> Any:
    return payplan.replace_plan(session(), clock(), actor(), terms)
