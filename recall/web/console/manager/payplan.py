"""The pay plan editor: base amount per role, the recall multiplier and per-service amounts, with a what-if over
a past range (actual against proposed, per staff member) before the plan is saved.

The form is read into the document the API's PUT /clinic/pay-plan takes and loaded by the API's schema; the
what-if is the same use case as POST /earnings/what-if and saves nothing. Amounts are typed in the currency's
units and sent in minor units, as the API takes them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from recall.clinic.catalog import list_services
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day, month_range
from recall.credit import earnings, payplan
from recall.credit.payplan import EARNING_ROLES, PlanTerms
from recall.web.clinic.schemas import PayPlanInputSchema
from recall.web.common import clock, session
from recall.web.console.manager import blp, charts
from recall.web.console.manager.forms import Errors, Reader, load, merge, renamed
from recall.web.console.pages import clinic, console_actor, field_errors, page, render, wants_csv
from recall.web.csv_files import csv_response
from recall.web.earnings.schemas import WhatIfInputSchema

BASES = ("frontdesk_base_cents", "operator_base_cents")


def _cents(form: Reader, name: str) -> Any:
    raw = form.text(name).replace(",", ".").replace(" ", "")
    if not raw:
        return None
    try:
        amount = Decimal(raw) * 100
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        form.errors.setdefault(name, []).append(_("must be an amount such as 12.50"))
        return None
    if amount != amount.to_integral_value():
        form.errors.setdefault(name, []).append(_("must have at most two decimals"))
        return None
    return int(amount)


def _plan_document(data: MultiDict[str, str], service_ids: list[int]) -> tuple[dict[str, Any], dict[str, str], Errors]:
    """The API's pay plan document from the form; an empty per-service amount is none (the base applies)."""
    form = Reader(data)
    doc: dict[str, Any] = {name: _cents(form, name) for name in BASES}
    doc["recall_multiplier"] = form.decimal("recall_multiplier")
    rates: list[dict[str, Any]] = []
    paths: dict[str, str] = {}
    for sid in service_ids:
        for role in EARNING_ROLES:
            name = f"service_rates.{sid}.{role.value}"
            cents = _cents(form, f"{name}.amount_cents")
            if cents is not None:
                paths[f"service_rates.{len(rates)}"] = name
                rates.append({"service_id": sid, "role": role.value, "amount_cents": cents})
    doc["service_rates"] = rates
    return doc, paths, form.errors


def _values(terms: PlanTerms) -> dict[str, Any]:
    out: dict[str, Any] = {name: _units(getattr(terms, name)) for name in BASES}
    out["recall_multiplier"] = str(terms.recall_multiplier.normalize())
    for (sid, role), cents in terms.service_rates.items():
        out[f"service_rates.{sid}.{role.value}.amount_cents"] = _units(cents)
    return out


def _units(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _last_month() -> tuple[Any, Any]:
    this_month, _end = earnings.period(clinic(), clock().now())
    return month_range(this_month - timedelta(days=1))


def _services() -> list[Any]:
    return list(session().scalars(list_services(console_actor().clinic_id)).all())


def _editor(
    values: dict[str, Any], errors: Errors, status: int = 200, fragment: str | None = None, **extra: Any
) -> Any:
    start, end = _last_month()
    values.setdefault("from", start.isoformat())
    values.setdefault("to", end.isoformat())
    current = payplan.load_terms(session(), console_actor().clinic_id)
    return render(
        "manager/pay_plan.html",
        fragment,
        status=status,
        values=values,
        errors=errors,
        version=current.version,
        services=_services(),
        earning_roles=[r.value for r in EARNING_ROLES],
        today=local_day(clock().now(), clinic().timezone),
        **extra,
    )


@blp.get("/pay-plan")
@page(Role.MANAGER)
def pay_plan() -> Any:
    terms = payplan.load_terms(session(), console_actor().clinic_id)
    return _editor(_values(terms), {}, saved=request.args.get("saved", type=int))


def _typed(data: MultiDict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "csrf_token"}


@blp.post("/pay-plan")
@page(Role.MANAGER)
def save_pay_plan() -> Any:
    doc, paths, errors = _plan_document(request.form, [s.id for s in _services()])
    terms, problems = load(PayPlanInputSchema(), doc)
    errors = merge(errors, renamed(problems, paths))
    if not errors:
        try:
            saved = payplan.replace_plan(session(), clock(), console_actor(), terms)
        except ValidationError as exc:
            session().rollback()
            errors = renamed(field_errors(exc), paths)
        else:
            return redirect(url_for("manager.pay_plan", saved=saved.version))
    return _editor(_typed(request.form), errors, status=422)


def _what_if(data: MultiDict[str, str]) -> tuple[Any, Errors]:
    """The what-if of the form's plan over its range: the use case POST /earnings/what-if calls."""
    doc, paths, errors = _plan_document(data, [s.id for s in _services()])
    reader = Reader(data)
    asked = {"from": reader.text("from"), "to": reader.text("to"), "plan": doc}
    loaded, problems = load(WhatIfInputSchema(), asked)
    named = {k.removeprefix("plan."): v for k, v in problems.items()}
    errors = merge(errors, renamed(named, paths))
    if errors:
        return None, errors
    try:
        start, end = earnings.period(clinic(), clock().now(), loaded["from_"], loaded["to"])
        payplan.check_rates(session(), clinic().id, loaded["plan"])
        return earnings.what_if(session(), clinic().id, start, end, loaded["plan"]), {}
    except ValidationError as exc:
        return None, renamed(field_errors(exc), paths)


@blp.route("/pay-plan/what-if", methods=["GET", "POST"])
@page(Role.MANAGER)
def what_if() -> Any:
    data = request.form if request.method == "POST" else request.args
    result, errors = _what_if(data)
    if result is not None and wants_csv():
        return _what_if_csv(result)
    chart_url = url_for("manager.what_if_chart") + "?" + urlencode(_typed(data)) if result is not None else None
    return _editor(
        _typed(data),
        errors,
        422 if errors else 200,
        "manager/what_if.html",
        result=result,
        chart_url=chart_url,
        csv_url=url_for("manager.what_if") + "?" + urlencode({**_typed(data), "format": "csv"}),
    )


def _what_if_csv(result: Any) -> Response:
    header = [_("Staff member"), _("Visits attended"), _("Actual"), _("Proposed"), _("Difference")]
    rows = (
        [r.name, r.realized_count, _units(r.actual_cents), _units(r.proposed_cents), _units(r.difference_cents)]
        for r in result.rows
    )
    return csv_response(f"what-if-{result.start.isoformat()}-{result.end.isoformat()}.csv", header, rows)


@blp.get("/pay-plan/what-if.svg")
@page(Role.MANAGER)
def what_if_chart() -> Response:
    result, errors = _what_if(request.args)
    if result is None:
        raise ValidationError(next(iter(errors.values()))[0])
    title = _(
        "Actual and proposed pay, %(start)s to %(end)s", start=result.start.isoformat(), end=result.end.isoformat()
    )
    return charts.svg(charts.what_if_chart(result.rows, title))
