"""The manager's dashboard: the surge banner, and each chart beside its table, with the table as CSV.

Every figure comes from the use case the JSON API's view calls, read with the API's own query schema
(``figures``); the charts (``charts``) and the CSV are drawn from the very table the page shows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from recall.common.actors import Role
from recall.common.errors import NotFound, ValidationError
from recall.events import endpoints as webhook_endpoints
from recall.web.common import clock, session
from recall.web.console.manager import blp, charts, figures, no_show_words, report_tables
from recall.web.console.manager.figures import MONEY, Table
from recall.web.console.operator.targets import targets_context
from recall.web.console.pages import clinic, field_errors, page, render
from recall.web.csv_files import csv_response

CHARTS = ("queue", "kpis", "conversion", "earnings", "staffing")


def _args() -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    kpi, kpi_errors = figures.kpi_args(request.args)
    plan, plan_errors = figures.staffing_args(request.args)
    return kpi, plan, {**kpi_errors, **plan_errors}


def _kpis(kpi: dict[str, Any]) -> tuple[figures.KpiRange | None, dict[str, list[str]]]:
    try:
        return figures.kpis(clinic(), session(), clock().now(), kpi), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def _table(name: str) -> tuple[Table, dict[str, Any]]:
    """One of the dashboard's tables, for its chart and its CSV, with what the chart needs beside it."""
    kpi, plan_args, _errors = _args()
    now = clock().now()
    if name == "queue":
        health = figures.health_now(clinic(), session(), now)
        return figures.queue_table(health), {}
    if name in ("kpis", "conversion", "funnel", "answer_times", "no_shows"):
        kpis, errors = _kpis(kpi)
        if kpis is None:
            raise ValidationError(next(iter(errors.values()))[0])
        if name == "funnel":
            return report_tables.funnel_table(clinic(), session(), kpis), {}
        if name == "answer_times":
            return report_tables.answer_table(clinic(), session(), now, kpis), {}
        if name == "no_shows":
            return report_tables.no_show_table(report_tables.no_shows(clinic(), session(), kpis)), {}
        maker = figures.kpi_table if name == "kpis" else figures.conversion_table
        return maker(kpis), {"group": kpis.group}
    if name == "earnings":
        table, start, end = figures.earnings_table(clinic(), session(), now)
        return table, {"start": start, "end": end}
    if name == "staffing":
        table, plan = figures.staffing_table(clinic(), session(), now, plan_args)
        return table, {"plan": plan}
    raise NotFound("chart", name)


def _webhooks_down() -> list[tuple[str, bool]]:
    """The CRM endpoints the worker gave up on, each with whether the receiver said 410 Gone (else the retries
    ran out): the dashboard tells the manager, in their language."""
    return [(e.url, "410" in (e.disabled_reason or "")) for e in webhook_endpoints.given_up(session(), clinic().id)]


@blp.get("/")
@page(Role.MANAGER)
def dashboard() -> Any:
    kpi, plan_args, errors = _args()
    now = clock().now()
    health = figures.health_now(clinic(), session(), now)
    kpis, kpi_errors = _kpis(kpi)
    earnings, start, end = figures.earnings_table(clinic(), session(), now)
    staffing, plan = figures.staffing_table(clinic(), session(), now, plan_args)
    no_shows = report_tables.no_shows(clinic(), session(), kpis) if kpis else None
    tables = {
        "queue": figures.queue_table(health),
        "kpis": figures.kpi_table(kpis) if kpis else None,
        "conversion": figures.conversion_table(kpis) if kpis else None,
        "funnel": report_tables.funnel_table(clinic(), session(), kpis) if kpis else None,
        "answer_times": report_tables.answer_table(clinic(), session(), now, kpis) if kpis else None,
        "no_shows": report_tables.no_show_table(no_shows) if no_shows else None,
        "earnings": earnings,
        "staffing": staffing,
    }
    query = {k: v for k, v in request.args.items() if k != "format"}
    drawn: dict[str, tuple[str, Table | None, dict[str, Any], str | None]] = {
        "queue": ("queue", tables["queue"], {}, None),
        "kpis_bookings": ("kpis", tables["kpis"], {}, "bookings"),
        "kpis_attempts": ("kpis", tables["kpis"], {}, "attempts"),
        "conversion": ("conversion", tables["conversion"], {}, None),
        "earnings": ("earnings", earnings, {}, None),
        "staffing": ("staffing", staffing, {"plan": plan}, None),
    }
    inline = {
        key: charts.data_uri(_draw(name, table, extra, metric))
        for key, (name, table, extra, metric) in drawn.items()
        if table is not None
    }
    return render(
        "manager/dashboard.html",
        **targets_context(session(), clinic(), now, None),
        status=422 if errors or kpi_errors else 200,
        health=health,
        surge=figures.surge_lines(health.surge),
        webhooks_down=_webhooks_down(),
        no_shows=no_shows,
        no_show_statement=no_show_words.statement(no_shows) if no_shows else [],
        no_show_outside=no_show_words.outside_holdout(no_shows) if no_shows else None,
        tables=tables,
        inline=inline,
        kpis=kpis,
        group=kpi.get("group", "day"),
        query=query,
        plan=plan,
        plan_args=plan_args,
        pay_start=start,
        pay_end=end,
        errors={**errors, **kpi_errors},
    )


def _draw(name: str, table: Table, extra: dict[str, Any], metric: str | None = None) -> Any:
    """The pygal chart of one of the dashboard's tables."""
    if name == "queue":
        return charts.queue_chart(table)
    if name == "kpis":
        titles = {"bookings": _("Bookings per operator"), "attempts": _("Attempts per operator")}
        metric = metric if metric in titles else "bookings"
        return charts.kpi_chart(table, metric, titles[metric])
    if name == "conversion":
        return charts.conversion_chart(table)
    if name == "earnings":
        return charts.earnings_chart(table, _("Earnings this pay period"))
    plan = extra["plan"]
    return charts.staffing_chart(plan.operators_needed, plan.operators_active)


@blp.get("/charts/<name>.svg")
@page(Role.MANAGER)
def chart(name: str) -> Response:
    """One chart on its own (the page draws them inline; this is the link to open or save one)."""
    table, extra = _table(name)
    return charts.svg(_draw(name, table, extra, request.args.get("metric", "bookings")))


@blp.get("/tables/<name>.csv")
@page(Role.MANAGER)
def table_csv(name: str) -> Response:
    table, _extra = _table(name)
    header = [label for _key, label, _kind in table.columns]
    kinds = [kind for _key, _label, kind in table.columns]
    rows = ([_cell(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in table.rows)
    return csv_response(f"{name}.csv", header, rows)


def _cell(value: Any, kind: str) -> Any:
    """A CSV cell: money in major units (2 decimals), days as ISO dates, the rest as the API gives it."""
    if value is None:
        return ""
    if kind == MONEY:
        return str((Decimal(value) / 100).quantize(Decimal("0.01")))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


blp.after_app_request(charts.chart_policy)
