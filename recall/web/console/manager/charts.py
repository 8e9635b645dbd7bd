"""The office's charts, drawn on the server by pygal as SVG from the same tables the pages show.

An SVG is fetched by an ``<img>``: it runs no script (pygal's tooltip script is left out, and an image would
not run it anyway) and needs nothing from another host. pygal styles its drawing with an inline ``<style>``, so
the chart's own response carries its own CSP allowing exactly that; the pages' CSP is never relaxed.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pygal
from flask import g
from flask_babel import gettext as _
from pygal.etree import etree
from pygal.style import Style
from werkzeug.wrappers import Response

from recall.web.console.i18n import day, money, number
from recall.web.console.manager.figures import BANDS, Table, band_labels

# pygal adds an import hook for its map plugins (unused here) that lacks ``find_spec``: every failed import
# anywhere then warns (an error in the tests). Without map plugins the hook has nothing to do.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2530",
    foreground_strong="#1d2530",
    foreground_subtle="#5b6675",
    font_family="system-ui, 'Segoe UI', 'Noto Sans', 'PingFang SC', sans-serif",
    colors=("#1f6feb", "#f0883e", "#2da44e", "#cf222e", "#8250df", "#9a6700", "#0a7ea4", "#bf3989"),
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=15,
    value_font_size=11,
)


def _config(chart: type[Any], title: str, **kw: Any) -> Any:
    return chart(
        title=title,
        style=STYLE,
        js=[],  # no script: the chart is an image
        width=820,
        height=360,
        explicit_size=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        print_values=False,
        show_y_guides=True,
        truncate_legend=-1,
        truncate_label=-1,
        no_data_text=_("No data yet"),
        min_scale=2,
        max_scale=8,
        **kw,
    )


def svg_text(chart: Any) -> str:
    """The chart as an SVG document, without the script pygal always writes (its tooltips): an image needs none."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return "<?xml version='1.0' encoding='utf-8'?>\n" + etree.tostring(tree, encoding="unicode")


def data_uri(chart: Any) -> str:
    """The chart for an ``<img src>`` inside a page (the console's CSP allows data: images): drawn from the
    tables the page computed anyway, instead of another request computing them again."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text(chart).encode()).decode("ascii")


def svg(chart: Any) -> Response:
    """The chart as image/svg+xml with its own CSP (set by ``chart_policy`` after the console's headers)."""
    g.chart_svg = True
    response = Response(svg_text(chart), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


def chart_policy(response: Response) -> Response:
    if g.get("chart_svg"):
        response.headers["Content-Security-Policy"] = CHART_CSP
    return response


def _whole(value: Any) -> str:
    return number(value)


def queue_chart(table: Table) -> Any:
    chart = _config(pygal.StackedBar, _("Queue health by service and age"), value_formatter=_whole)
    chart.x_labels = table.column("service")
    labels = band_labels()
    for band in BANDS:
        chart.add(labels[band], table.column(band))
    return chart


def _periods(days: Sequence[Any]) -> list[str]:
    seen: list[Any] = []
    for d in days:
        if d not in seen:
            seen.append(d)
    return [day(d) for d in seen]


def kpi_chart(table: Table, metric: str, title: str, formatter: Callable[[Any], str] = _whole) -> Any:
    """One KPI per operator over the periods: a line per operator, the team's as bars would hide them."""
    chart = _config(pygal.Line, title, value_formatter=formatter, dots_size=4)
    periods = table.column("period")
    labels = _periods(periods)
    chart.x_labels = labels
    people: dict[str, dict[str, Any]] = {}
    team = _("Team")
    for period, who, value in zip(periods, table.column("operator"), table.column(metric), strict=True):
        if who == team:
            continue
        people.setdefault(who, {})[day(period)] = value
    for who, values in people.items():
        chart.add(who, [values.get(label, 0) for label in labels])
    return chart


def conversion_chart(table: Table) -> Any:
    chart = _config(pygal.Bar, _("From recall task to booking to attended visit"), value_formatter=_whole)
    chart.x_labels = _periods(table.column("period"))
    chart.add(_("Tasks closed"), table.column("tasks_closed"))
    chart.add(_("Booked"), table.column("tasks_won"))
    chart.add(_("Attended"), table.column("bookings_attended"))
    return chart


def _money(cents: Any) -> str:
    return money(cents / 100) if cents is not None else ""


def earnings_chart(table: Table, title: str) -> Any:
    chart = _config(pygal.HorizontalStackedBar, title, value_formatter=_money)
    chart.x_labels = table.column("staff")
    chart.add(_("Earned"), table.column("earned_cents"))
    chart.add(_("Pending"), table.column("pending_cents"))
    return chart


def staffing_chart(needed: int, active: int) -> Any:
    chart = _config(pygal.Bar, _("Operators needed to clear the queue in time"), value_formatter=_whole)
    chart.x_labels = [_("Operators")]
    chart.add(_("Needed"), [needed])
    chart.add(_("Active lately"), [active])
    return chart


def what_if_chart(rows: list[Any], title: str) -> Any:
    chart = _config(pygal.Bar, title, value_formatter=_money)
    chart.x_labels = [r.name for r in rows]
    chart.add(_("Actual"), [r.actual_cents for r in rows])
    chart.add(_("Proposed"), [r.proposed_cents for r in rows])
    return chart
