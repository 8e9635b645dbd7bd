"""The clinic's CRM wiring: the launch-link secret (rotated, shown once) and the origins that may frame the
console (CSP frame-ancestors)."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _

from recall.clinic.integration import (
    LAUNCH_LIFETIME,
    MAX_ORIGINS,
    BadOrigins,
    integration_state,
    rotate_launch_secret,
    set_frame_origins,
)
from recall.common.actors import Role
from recall.web.common import clock, session
from recall.web.console.manager.team import blp
from recall.web.console.pages import console_actor, page, render


def _crm_page(status: int = 200, errors: dict[str, list[str]] | None = None, **shown: Any) -> Any:
    state = integration_state(session(), clock(), console_actor())
    shown.setdefault("saved", request.args.get("saved") == "origins")
    shown.setdefault("origins", "\n".join(state.frame_origins))
    return render(
        "team/crm.html",
        status=status,
        errors=errors or {},
        state=state,
        launch_url=url_for("access.launch_page", _external=True),
        clinic_id=console_actor().clinic_id,
        lifetime_minutes=int(LAUNCH_LIFETIME.total_seconds() // 60),
        **shown,
    )


def _origin_message(wrong: BadOrigins) -> str:
    if wrong.origin is None:
        return _("List at most %(count)s origins.", count=MAX_ORIGINS)
    return _("“%(origin)s” is not an origin such as https://crm.example.com.", origin=wrong.origin)


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
    except BadOrigins as wrong:
        session().rollback()
        return _crm_page(422, {"frame_origins": [_origin_message(wrong)]}, origins=text)
    return redirect(url_for("manager.team.crm", saved="origins"), code=303)
