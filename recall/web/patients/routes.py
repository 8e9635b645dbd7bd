"""Patients of the caller's clinic."""

from __future__ import annotations

from typing import Any

from recall.clinic import clinics, patients
from recall.common.phones import to_e164
from recall.reminders import patient_edits
from recall.web.auth import any_staff
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint
from recall.web.patients.schemas import PatientCreateSchema, PatientListArgs, PatientSchema, PatientUpdateSchema

blp = Blueprint("patients", __name__, description="Patients")


@blp.route("/patients", methods=["GET"])
@any_staff
@blp.arguments(PatientListArgs, location="query")
@blp.response(200, page_schema(PatientSchema))
def list_patients(args: dict[str, Any]) -> Any:
    phone = None
    if args.get("phone"):
        phone = to_e164(args["phone"], clinics.get_clinic(session(), actor().clinic_id).phone_region)
    return page_of(
        patients.search_patients(actor().clinic_id, q=args.get("q"), phone=phone, language=args.get("language")), args
    )


@blp.route("/patients", methods=["POST"])
@any_staff
@blp.arguments(PatientCreateSchema)
@blp.response(201, PatientSchema)
def create_patient(data: dict[str, Any]) -> Any:
    return patients.create_patient(session(), clock(), actor(), data)


@blp.route("/patients/<int:patient_id>", methods=["GET"])
@any_staff
@blp.response(200, PatientSchema)
def get_patient(patient_id: int) -> Any:
    return patients.get_patient(session(), actor().clinic_id, patient_id)


@blp.route("/patients/<int:patient_id>", methods=["PATCH"])
@any_staff
@blp.arguments(PatientUpdateSchema)
@blp.response(200, PatientSchema)
def update_patient(data: dict[str, Any], patient_id: int) -> Any:
    return patient_edits.update_patient(session(), clock(), actor(), patient_id, data)
