"""``POST /api/v1/fhir/notify/<clinic_id>``: the EHR's changes, FHIR Subscription rest-hook style, signed.

The body is a Bundle (subscription-notification or history, or any Bundle of resources) or a single resource.
It must carry the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) signed with the
clinic's EHR secret (``recall.clinic.ehr``) within 5 minutes of now; otherwise 401. A webhook-id seen before is
acknowledged and does nothing. Every Appointment and Encounter goes through the import engine acting as the
system for that clinic, so it can only find and change that clinic's rows: a cancellation stops the booking's
reminders and voids its pending credit, a move re-plans them, fulfilled earns, noshow voids.
"""

from __future__ import annotations

from typing import Any

from flask import request

from integrations.fhir.reading import Entry
from integrations.fhir.responses import outcome_problems
from integrations.fhir.signing import SignatureRefused, verify
from recall.clinic.ehr import ehr_secret, first_sighting
from recall.common.actors import Actor
from recall.common.errors import Unauthenticated
from recall.imports.records import EntryOutcome, Result
from recall.web.common import clock, session
from recall.web.contract import Blueprint, may_answer, require_json_body
from recall.web.fhir.applying import apply_entries, parse_body
from recall.web.fhir.routes import BUNDLE_BODY
from recall.web.fhir.schemas import NotificationSchema

blp = Blueprint("fhir_notify", __name__, description="The EHR's signed notifications of its changes")
SIGNED = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("webhook-id", "the notification's id; one seen before is acknowledged and does nothing"),
        ("webhook-timestamp", "Unix time in seconds; refused more than 5 minutes from now"),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body with the clinic's EHR secret>"),
    )
]


@blp.route("/fhir/notify/<int:clinic_id>", methods=["POST"])
@may_answer(400, 401, 413, 415, 422)
@blp.doc(security=[], parameters=SIGNED, requestBody={**BUNDLE_BODY, "description": "a Bundle or one resource"})
@blp.response(200, NotificationSchema)
def notify(clinic_id: int) -> Any:
    """Take the EHR's notification of changed appointments and encounters, signed per Standard Webhooks.

    Answers 200 with what each entry did; 401 when the signature or its timestamp does not hold."""
    secret = ehr_secret(session(), clinic_id)
    if secret is None:
        raise Unauthenticated("no EHR secret is issued for this clinic: a manager issues one")
    body = request.get_data()
    try:
        webhook_id = verify(secret, {k.lower(): v for k, v in request.headers.items()}, body, clock().now())
    except SignatureRefused as refused:
        raise Unauthenticated(f"the notification is not signed by the clinic's EHR: {refused}") from None
    require_json_body(True)
    parsed = parse_body(body, session(), clinic_id)
    if not first_sighting(session(), clock(), clinic_id, webhook_id):
        session().rollback()
        return {"webhook_id": webhook_id, "replay": True, "counts": {}, "entries": []}
    outcomes = apply_entries(session(), clock(), Actor.system(clinic_id), parsed)
    entries = [_summary(e, outcomes.get(e.index)) for e in parsed.entries]
    counts: dict[str, int] = {}
    for item in entries:
        counts[item["result"]] = counts.get(item["result"], 0) + 1
    return {"webhook_id": webhook_id, "replay": False, "counts": counts, "entries": entries}


def _summary(entry: Entry, outcome: EntryOutcome | None) -> dict[str, Any]:
    problems = list(entry.problems)
    if outcome is not None and outcome.result is Result.REFUSED:
        problems += outcome_problems(entry.resource_type or "", outcome)
    result = "refused" if problems else outcome.result.value if outcome is not None else "ignored"
    return {
        "index": entry.index,
        "resource_type": entry.resource_type,
        "ref": outcome.ref if outcome is not None else None,
        "result": result,
        "id": outcome.id if outcome is not None and not problems else None,
        "problems": [{"path": p.path, "reason": p.reason} for p in problems],
    }
