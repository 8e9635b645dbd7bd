"""The manager's side of the EHR wiring: integration tokens for ``POST /api/v1/fhir`` (shown once, stored
hashed, revocable) and the secret that signs the EHR's notifications (shown once)."""

from __future__ import annotations

from typing import Any

from flask import request

from recall.clinic import ehr
from recall.web.auth import manager_only
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.fhir.schemas import (
    EhrSecretSchema,
    IntegrationTokenCreateSchema,
    IntegrationTokenSchema,
    IssuedIntegrationTokenSchema,
)

blp = Blueprint("ehr_wiring", __name__, description="The clinic's EHR wiring: integration tokens and EHR secret")


@blp.route("/clinic/integration/tokens", methods=["GET"])
@manager_only
@blp.response(200, IntegrationTokenSchema(many=True))
def list_integration_tokens() -> Any:
    """The clinic's integration tokens (never their secrets)."""
    return ehr.list_integration_tokens(session(), actor())


@blp.route("/clinic/integration/tokens", methods=["POST"])
@manager_only
@blp.arguments(IntegrationTokenCreateSchema)
@blp.response(201, IssuedIntegrationTokenSchema)
def issue_integration_token(data: dict[str, Any]) -> Any:
    """A new integration token for the EHR, shown this once; it is accepted only by the FHIR endpoints."""
    issued = ehr.issue_integration_token(session(), clock(), actor(), data["label"])
    token = issued.token
    return {
        "id": token.id,
        "hint": token.hint,
        "label": token.label,
        "created_at": token.created_at,
        "revoked_at": None,
        "token": issued.secret,
    }


@blp.route("/clinic/integration/tokens/<int:token_id>", methods=["DELETE"])
@manager_only
@blp.response(200, IntegrationTokenSchema)
def revoke_integration_token(token_id: int) -> Any:
    """Revoke an integration token: the EHR holding it is refused from then on."""
    return ehr.revoke_integration_token(session(), clock(), actor(), token_id)


@blp.route("/clinic/integration/ehr-secret", methods=["POST"])
@manager_only
@blp.response(201, EhrSecretSchema)
def issue_ehr_secret() -> Any:
    """A new secret (whsec_...) for the EHR to sign its notifications with, shown this once; it replaces the
    one before."""
    secret = ehr.issue_ehr_secret(session(), clock(), actor())
    url = f"{request.host_url.rstrip('/')}/api/v1/fhir/notify/{actor().clinic_id}"
    return {"ehr_secret": secret, "notify_url": url}
