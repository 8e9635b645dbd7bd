"""A member's API tokens, for integrations: issue one (shown once) and revoke one, as the API's POST and DELETE
/api/v1/staff/{id}/tokens."""

from __future__ import annotations

from typing import Any

from flask import request

from recall.clinic import staff as staff_uc
from recall.common.actors import Role
from recall.web.common import clock, session
from recall.web.console.manager.team import blp
from recall.web.console.manager.team.forms import load
from recall.web.console.manager.team.member import member_page, saved
from recall.web.console.pages import console_actor, page
from recall.web.staff.schemas import TokenCreateSchema


@blp.post("/<int:staff_id>/tokens")
@page(Role.MANAGER)
def issue_token(staff_id: int) -> Any:
    member = staff_uc.get_staff(session(), console_actor().clinic_id, staff_id)
    label = request.form.get("label", "")
    data, errors = load(TokenCreateSchema(), {"label": label})
    if errors:
        return member_page(member, 422, errors, label=label)
    issued = staff_uc.issue_token(session(), clock(), member, data["label"])
    return member_page(member, issued_token=issued.secret, issued_token_id=issued.token.id)


@blp.post("/<int:staff_id>/tokens/<int:token_id>/revoke")
@page(Role.MANAGER)
def revoke_token(staff_id: int, token_id: int) -> Any:
    """Revoke a token of the member (another clinic's member or another member's token: 404)."""
    staff_uc.revoke_token(session(), clock(), console_actor(), staff_id, token_id)
    return saved(staff_id, "token")
