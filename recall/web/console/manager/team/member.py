"""One staff member's page: rename, deactivate or reactivate (PATCH /api/v1/staff/{id}), and the invite or
password-reset link that lets them set a password (shown once)."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from recall.clinic import staff as staff_uc
from recall.clinic.signin import LinkKind, issue_link
from recall.clinic.staff import Staff
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.web.common import clock, session
from recall.web.console.manager.team import blp
from recall.web.console.manager.team.forms import load, translated
from recall.web.console.pages import console_actor, field_errors, page, render
from recall.web.staff.schemas import StaffUpdateSchema

KINDS = {kind.value: kind for kind in LinkKind}
SAVED = ("name", "active", "token")  # ?saved=: what the change that led back here was


def member_page(member: Staff, status: int = 200, errors: dict[str, list[str]] | None = None, **shown: Any) -> Any:
    """The member's page; ``shown`` holds what is shown this once (a link, a token) or a form's values."""
    tokens = staff_uc.list_tokens(session(), member)
    return render(
        "team/member.html",
        status=status,
        member=member,
        tokens=tokens,
        errors=errors or {},
        added=request.args.get("added") == "1",
        **{"saved": request.args.get("saved") in SAVED, **shown},
    )


def saved(staff_id: int, what: str) -> Response:
    """Back to the member's page after a change (so that reloading it does not send the form again)."""
    return redirect(url_for("manager.team.member", staff_id=staff_id, saved=what), code=303)


def _member(staff_id: int) -> Staff:
    return staff_uc.get_staff(session(), console_actor().clinic_id, staff_id)  # another clinic's: 404


@blp.get("/<int:staff_id>/")
@page(Role.MANAGER)
def member(staff_id: int) -> Any:
    return member_page(_member(staff_id))


@blp.post("/<int:staff_id>/name")
@page(Role.MANAGER)
def rename(staff_id: int) -> Any:
    found = _member(staff_id)
    name = request.form.get("name", "")
    data, errors = load(StaffUpdateSchema(), {"name": name})
    if errors:
        return member_page(found, 422, errors, name=name)
    try:
        staff_uc.update_staff(session(), console_actor(), staff_id, name=data["name"])
    except ValidationError as wrong:
        session().rollback()
        return member_page(found, 422, translated(field_errors(wrong)), name=name)
    return saved(staff_id, "name")


@blp.post("/<int:staff_id>/active")
@page(Role.MANAGER)
def set_active(staff_id: int) -> Any:
    """Deactivate (their sessions and tokens stop working at once) or reactivate."""
    found = _member(staff_id)
    active = request.form.get("active")
    if active not in ("yes", "no"):
        return member_page(found, 422, {"active": [_("Choose to deactivate or to reactivate.")]})
    try:
        staff_uc.update_staff(session(), console_actor(), staff_id, active=active == "yes")
    except ValidationError as wrong:
        session().rollback()
        return member_page(found, 422, translated(field_errors(wrong)))
    return saved(staff_id, "active")


@blp.post("/<int:staff_id>/link")
@page(Role.MANAGER)
def link(staff_id: int) -> Any:
    """A one-time invite (or reset) link for the member, shown this once to pass on to them."""
    found = _member(staff_id)
    kind = KINDS.get(request.form.get("kind", ""))
    if kind is None:
        return member_page(found, 422, {"link": [_("Choose an invite or a reset link.")]})
    try:
        issued = issue_link(session(), clock(), console_actor(), staff_id, kind)
    except ValidationError as wrong:
        session().rollback()
        problem = _("Reactivate them first.") if not found.active else _("They have no email to sign in with.")
        return member_page(found, 422, {"link": [problem]} if "staff_id" in wrong.fields else field_errors(wrong))
    url = url_for("access.set_password", token=issued.secret, _external=True)
    return member_page(found, issued_link=url, link_kind=kind.value, link_expires=issued.link.expires_at)
