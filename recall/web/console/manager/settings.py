"""Clinic settings and the queue's rules: the fields PATCH /api/v1/clinic takes, loaded by the API's schema and
saved by the same use case in one transaction (all or nothing)."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _

from recall.clinic import clinics
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.common.timeutil import format_hhmm
from recall.web.clinic.schemas import ClinicUpdateSchema
from recall.web.common import session
from recall.web.console.manager import blp
from recall.web.console.manager.forms import Errors, Reader, load, merge
from recall.web.console.pages import clinic, console_actor, field_errors, page, render

TEXTS = ("name", "timezone", "phone_region", "currency")
HOURS = ("calling_weekday_start", "calling_weekday_end", "calling_weekend_start", "calling_weekend_end")
WHOLE = (
    "recall_cooling_off_hours",
    "recall_lease_minutes",
    "recall_max_attempts",
    "recall_callback_hold_minutes",
    "reminder_holdout_percent",
)
HOLDOUT_CALLS = "holdout_human_calls"  # a checkbox: absent from the form is false
NULLABLE = ("surge_backlog", "surge_overdue_days")
BACKOFF = "recall_backoff_minutes"


def _values() -> dict[str, Any]:
    c = clinic()
    out: dict[str, Any] = {name: getattr(c, name) for name in (*TEXTS, *WHOLE, *NULLABLE, "surge_overdue_tasks")}
    out.update({name: format_hhmm(getattr(c, name)) for name in HOURS})
    out[BACKOFF] = ", ".join(str(m) for m in c.recall_backoff_minutes)
    out[HOLDOUT_CALLS] = c.holdout_human_calls
    return out


def _document() -> tuple[dict[str, Any], Errors]:
    form = Reader(request.form)
    doc: dict[str, Any] = {name: form.text(name) for name in (*TEXTS, *HOURS)}
    for name in (*WHOLE, "surge_overdue_tasks"):
        doc[name] = form.integer(name)
    for name in NULLABLE:
        doc[name] = form.integer(name)  # empty: never
    waits = []
    for part in form.text(BACKOFF).replace(";", ",").split(","):
        if part.strip():
            try:
                waits.append(int(part.strip()))
            except ValueError:
                form.errors.setdefault(BACKOFF, []).append(_("must be whole numbers of minutes, separated by commas"))
                break
    doc[BACKOFF] = waits
    doc[HOLDOUT_CALLS] = HOLDOUT_CALLS in request.form
    doc = {k: v for k, v in doc.items() if v is not None or k in NULLABLE}
    return doc, form.errors


def _backoff_beside(errors: Errors) -> Errors:
    """A message on one wait (``recall_backoff_minutes.1``) goes beside the one field that holds them all."""
    out: Errors = {}
    for name, messages in errors.items():
        out.setdefault(BACKOFF if name.startswith(BACKOFF + ".") else name, []).extend(messages)
    return out


@blp.get("/clinic")
@page(Role.MANAGER)
def settings() -> Any:
    return render("manager/settings.html", values=_values(), errors={}, saved=request.args.get("saved"))


@blp.post("/clinic")
@page(Role.MANAGER)
def save_settings() -> Any:
    doc, errors = _document()
    changes, problems = load(ClinicUpdateSchema(), doc)
    errors = _backoff_beside(merge(errors, problems))
    if not errors:
        try:
            clinics.update_clinic(session(), console_actor(), changes)  # commits every change or none
        except ValidationError as exc:
            session().rollback()
            errors = _backoff_beside(field_errors(exc))
        else:
            return redirect(url_for("manager.settings", saved=1))
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return render("manager/settings.html", status=422, values=values, errors=errors, saved=None)
