"""The clinic's staff list (with its CSV) and adding a member, as the API's GET and POST /api/v1/staff."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from recall.clinic import staff as staff_uc
from recall.common.actors import STAFF_ROLES, Role
from recall.common.errors import ValidationError
from recall.web.common import clock, session
from recall.web.console.manager.team import blp
from recall.web.console.manager.team.forms import load, translated
from recall.web.console.pages import console_actor, field_errors, page, render, wants_csv
from recall.web.csv_files import csv_response
from recall.web.staff.schemas import StaffCreateSchema

FILTER_ROLES = {role.value: role for role in STAFF_ROLES}
ACTIVE = {"yes": True, "no": False}


def _filters() -> tuple[Role | None, bool | None]:
    return FILTER_ROLES.get(request.args.get("role", "")), ACTIVE.get(request.args.get("active", ""))


def _staff_page(status: int = 200, errors: dict[str, list[str]] | None = None, form: Any = None) -> Any:
    role, active = _filters()
    members = list(session().scalars(staff_uc.list_staff(console_actor().clinic_id, role=role, active=active)))
    return render(
        "team/staff.html",
        status=status,
        members=members,
        errors=errors or {},
        form=form or {},
        role=role.value if role else "",
        active=request.args.get("active", ""),
    )


@blp.get("/")
@page(Role.MANAGER)
def staff() -> Any:
    """Every staff member of the clinic, filtered by role and status; ``?format=csv`` downloads the table."""
    if not wants_csv():
        return _staff_page()
    role, active = _filters()
    members = session().scalars(staff_uc.list_staff(console_actor().clinic_id, role=role, active=active))
    header = [_("Id"), _("Name"), _("Email"), _("Role"), _("Active"), _("Added")]
    rows = ([m.id, m.name, m.email, m.role.value, m.active, m.created_at.isoformat()] for m in members)
    return csv_response("staff.csv", header, rows)


@blp.post("/")
@page(Role.MANAGER)
def add() -> Any:
    """A new member (POST /api/v1/staff); their page follows, where the manager issues the invite link."""
    form = {key: request.form.get(key, "") for key in ("name", "role", "email")}
    data, errors = load(StaffCreateSchema(), {**form, "email": form["email"].strip() or None})
    if errors:
        return _staff_page(422, errors, form)
    try:
        member = staff_uc.create_staff(
            session(), clock(), console_actor(), name=data["name"], role=data["role"], email=data["email"]
        )
    except ValidationError as wrong:
        return _staff_page(422, translated(field_errors(wrong)), form)
    except IntegrityError:  # the clinic's emails are unique
        session().rollback()
        return _staff_page(409, {"email": [_("Another staff member of the clinic has this email.")]}, form)
    return redirect(url_for("manager.team.member", staff_id=member.id, added=1), code=303)
