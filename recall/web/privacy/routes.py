"""A patient's privacy rights, for managers: everything recall holds about them, and their erasure (GDPR)."""

from __future__ import annotations

from typing import Any

from recall.privacy.erasure import erase_patient
from recall.privacy.export import export_patient
from recall.web.auth import manager_only
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.privacy.schemas import ErasureInputSchema, ErasureSchema, PatientExportSchema

blp = Blueprint("privacy", __name__, description="Privacy: a patient's data exported, a patient erased")


@blp.route("/patients/<int:patient_id>/export", methods=["GET"])
@manager_only
@blp.response(200, PatientExportSchema)
def export(patient_id: int) -> Any:
    """Everything recall holds about one patient, as JSON.

    Their data, bookings, visits, recall tasks (with the texts they sent), contact attempts and reminders (with
    the staff's notes). The credit ledger is the staff's pay and stays out."""
    return export_patient(session(), clock(), actor(), patient_id)


@blp.route("/patients/<int:patient_id>/erase", methods=["POST"])
@manager_only
@blp.arguments(ErasureInputSchema)
@blp.response(200, ErasureSchema)
def erase(_data: dict[str, Any], patient_id: int) -> Any:
    """Forget a patient; it cannot be undone.

    Name, phone, birth date, zone, identifiers, the texts they sent and the notes about them go; they are opted
    out first (open recall work closes, unsent reminders are cancelled). Bookings, visits and
    outcomes stay without personal data, and the credit ledger is untouched, so pay and every figure stay right.
    Cannot be undone; an erased patient is a 409."""
    return erase_patient(session(), clock(), actor(), patient_id)
