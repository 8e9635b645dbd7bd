"""Patients at the desk: search by name or phone, a new patient (the phone checked by the server as it is typed,
with the clinic's region, by the domain's own phone rule), and from either the check-in of a walk-in."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from recall.clinic import patients as patient_rules
from recall.clinic.patients import Language
from recall.common.errors import ValidationError
from recall.common.phones import to_e164
from recall.web.common import clock, session
from recall.web.console.frontdesk import blp
from recall.web.console.frontdesk.forms import failed, text, values
from recall.web.console.frontdesk.views import DESK
from recall.web.console.pages import clinic, console_actor, page, render, wants_csv
from recall.web.console.words import say, say_all
from recall.web.csv_files import csv_response

MAX_ROWS = 100
NEW_FIELDS = ("full_name", "phone", "language")


def _search() -> tuple[list[patient_rules.Patient], dict[str, list[str]], bool]:
    """The patients matching the search (name part, or phone in any writing), the search's field errors, and
    whether anything was asked."""
    args = request.args
    try:
        name = text(args, "name", max_length=100)
        raw_phone = text(args, "tel", max_length=40)
        phone = to_e164(raw_phone, clinic().phone_region, field="tel") if raw_phone else None
    except ValidationError as error:
        return [], say_all(error.fields), True
    if name is None and phone is None:
        return [], {}, False
    stmt = patient_rules.search_patients(clinic().id, q=name, phone=phone).limit(MAX_ROWS)
    return list(session().scalars(stmt)), {}, True


def _page(new: dict[str, Any], new_errors: dict[str, list[str]], status: int) -> Any:
    found, errors, searched = _search()
    return render(
        "frontdesk/patients.html",
        status=status if status != 200 else (422 if errors else 200),
        found=found,
        searched=searched,
        errors=errors,
        new=new,
        new_errors=new_errors,
        languages=[(lang.value, lang.value.upper()) for lang in Language],
    )


@blp.get("/patients")
@page(*DESK)
def patients() -> Any:
    if wants_csv():
        found, _errors, _asked = _search()
        return csv_response(
            "patients.csv",
            [_("Name"), _("Phone"), _("Language"), _("Opted out")],
            ([p.full_name, p.phone_e164, p.language.value, p.opted_out] for p in found),
        )
    return _page({"language": clinic_language()}, {}, 200)


def clinic_language() -> str:
    """A new patient's language to start from: the desk member's own, when patients may speak it."""
    console_actor()
    member_language = g.get("console_language") or "en"
    return member_language if member_language in {lang.value for lang in Language} else "en"


@blp.post("/patients")
@page(*DESK)
def new_patient() -> Any:
    form = request.form
    try:
        data: dict[str, Any] = {
            "full_name": text(form, "full_name", max_length=200) or "",
            "phone": form.get("phone", ""),
        }
        if form.get("language"):
            data["language"] = form["language"]
            if form["language"] not in {lang.value for lang in Language}:
                raise ValidationError(_("is not a valid choice"), field="language")
        patient = patient_rules.create_patient(session(), clock(), console_actor(), data)
    except ValidationError as error:
        errors, status = failed(error, NEW_FIELDS)
        return _page(values(form), errors, status)
    return redirect(url_for("frontdesk.check_in_form", patient_id=patient.id), code=303)


@blp.get("/patients/check-phone")
@page(*DESK)
def check_phone() -> Response:
    """As the phone is typed: the number as it will be stored (E.164), or why it is not one. Always 200: the
    answer is the check's, not the request's."""
    raw = request.args.get("phone", "")
    try:
        normalized = to_e164(raw, clinic().phone_region)
    except ValidationError as error:
        return jsonify(valid=False, error=say(error.message), normalized=None)
    return jsonify(valid=True, error=None, normalized=normalized)
