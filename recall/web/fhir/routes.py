"""``POST /api/v1/fhir``: a transaction or batch Bundle from the EHR, answered entry by entry like a FHIR server.

A manager's token or an integration token (acting as the system for its clinic). Each entry is applied on its
own: the good ones land, the refused ones are answered with a 400 or 422 and an OperationOutcome naming the
element and the reason (``integrations.fhir.responses``). A transaction is applied the same way as a batch
(entry by entry, not all or nothing), and answered as a transaction-response.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from integrations.fhir.responses import response_bundle
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.web.auth import integration_or
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint, may_answer, require_json_body
from recall.web.fhir.applying import apply_entries, parse_body
from recall.web.fhir.schemas import BundleResponseSchema

blp = Blueprint("fhir", __name__, description="The EHR over FHIR R4: Bundles of patients, practitioners, appointments")
FHIR_JSON = "application/fhir+json"
BUNDLE_BODY = {
    "required": True,
    "description": "a FHIR R4 Bundle of type transaction or batch (Patient, Practitioner, PractitionerRole, "
    "HealthcareService, Appointment, Encounter); see the README's 'Connecting an EHR over FHIR'",
    "content": {
        FHIR_JSON: {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


@blp.route("/fhir", methods=["POST"])
@may_answer(400, 413, 415, 422)
@integration_or(Role.MANAGER)
@blp.doc(requestBody=BUNDLE_BODY)
@blp.response(200, BundleResponseSchema)
def post_bundle() -> Any:
    """Import a transaction or batch Bundle, answered with a transaction-response or batch-response Bundle.

    Every entry gets a response status (201 Created, 200 OK, 400 Bad Request, 422 Unprocessable Entity), a
    location (`Appointment/<our id>`) when it landed, and an OperationOutcome naming the element and the reason
    when it did not. Takes a manager's token or an integration token."""
    require_json_body(True)
    parsed = parse_body(request.get_data(), session(), actor().clinic_id)
    if parsed.bundle_type not in ("transaction", "batch"):
        raise ValidationError(f"Bundle.type is {parsed.bundle_type!r}: send a transaction or batch", field="body")
    outcomes = apply_entries(session(), clock(), actor(), parsed)
    answer = jsonify(response_bundle(parsed, outcomes))
    if request.mimetype == FHIR_JSON:
        answer.mimetype = FHIR_JSON
    return answer
