"""The clinic's CRM wiring: the launch-link secret (rotated, shown once) and the origins that may frame the
console (CSP frame-ancestors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, request, url_for

from recall.clinic.integration import GRACE, LAUNCH_LIFETIME, get_integration, rotate_launch_secret, set_frame_origins
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.web.common import clock, session
from recall.web.console.manager.team import blp
from recall.web.console.pages import console_actor, field_errors, page, render


def _crm_page(status: int = 200, errors: dict[str, list[str]] | None = None, **shown: Any) -> Any:
    row = get_integration(session(), console_actor().clinic_id)
    previous_until: datetime | None = None
    if row is not None and row.previous_launch_secret and row.rotated_at is not None:
        previous_until = row.rotated_at + GRACE if row.rotated_at + GRACE > clock().now() else None
    shown.setdefault("saved", request.args.get("saved") == "origins")
    shown.setdefault("origins", "\n".join((row.frame_ancestors or "").split()) if row is not None else "")
    return render(
        "team/crm.html",
        status=status,
        errors=errors or {},
        has_secret=row is not None and bool(row.launch_secret),
        rotated_at=row.rotated_at if row is not None else None,
        previous_until=previous_until,
        launch_url=url_for("access.launch_page", _external=True),
        clinic_id=console_actor().clinic_id,
        lifetime_minutes=int(LAUNCH_LIFETIME.total_seconds() // 60),
        **shown,
    )


@blp.get("/crm")
@page(Role.MANAGER)
def crm() -> Any:
    return _crm_page()


@blp.post("/crm/secret")
@page(Role.MANAGER)
def rotate_secret() -> Any:
    """A new launch secret, shown this once; the previous one keeps working for 24 hours."""
    secret = rotate_launch_secret(session(), clock(), console_actor())
    return _crm_page(secret=secret)


@blp.post("/crm/origins")
@page(Role.MANAGER)
def origins() -> Any:
    text = request.form.get("frame_origins", "")
    try:
        set_frame_origins(session(), console_actor(), text)
    except ValidationError as wrong:
        session().rollback()
        return _crm_page(422, field_errors(wrong), origins=text)
    return redirect(url_for("manager.team.crm", saved="origins"), code=303)
