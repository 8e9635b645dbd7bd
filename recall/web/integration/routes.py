"""The clinic's CRM wiring: the launch-link secret (rotated, shown once) and the origins that may frame the
console. Managers only; ``recall.clinic.integration`` describes the launch links a CRM builds with the secret."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from recall.clinic import integration
from recall.web.auth import manager_only
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.integration.schemas import FrameOriginsSchema, IntegrationSchema, IssuedSecretSchema

blp = Blueprint("integration", __name__, description="The clinic's CRM wiring: launch secret and frame origins")


@blp.route("/clinic/integration", methods=["GET"])
@manager_only
@blp.response(200, IntegrationSchema)
def get_integration() -> Any:
    return integration.integration_state(session(), clock(), actor())


@blp.route("/clinic/integration/launch-secret", methods=["POST"])
@manager_only
@blp.response(201, IssuedSecretSchema)
def rotate_launch_secret() -> Any:
    """A new launch secret, shown this once; the previous one keeps verifying for 24 hours."""
    secret = integration.rotate_launch_secret(session(), clock(), actor())
    return {**asdict(integration.integration_state(session(), clock(), actor())), "launch_secret": secret}


@blp.route("/clinic/integration/frame-origins", methods=["PUT"])
@manager_only
@blp.arguments(FrameOriginsSchema)
@blp.response(200, IntegrationSchema)
def set_frame_origins(data: dict[str, Any]) -> Any:
    integration.set_frame_origins(session(), actor(), " ".join(data["frame_origins"]))
    return integration.integration_state(session(), clock(), actor())
