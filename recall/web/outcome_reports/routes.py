"""Reports on what became of the bookings: no-shows with and without reminders (recall.reminders.no_shows).

The range is of visit days in the clinic's zone, so "a day" is the day the clinic lived through, DST included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from recall.clinic.clinics import Clinic, get_clinic
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day
from recall.queue.stats import kpi_range_check
from recall.reminders.no_shows import NoShowReport, no_show_report
from recall.web.auth import manager_only
from recall.web.common import actor, clock, instant_range, session
from recall.web.contract import Blueprint
from recall.web.csv_files import csv_response
from recall.web.outcome_reports.schemas import ROW_FIELDS, NoShowArgs, NoShowReportSchema, group_row

blp = Blueprint("outcome_reports", __name__, description="What became of the bookings: no-shows and reminders")
CSV: dict[str, Any] = {"content_type": "text/csv"}
CSV_TEXT = {"type": "string", "description": "CSV, UTF-8 with a byte-order mark; the first line names the columns"}


def _report(args: dict[str, Any]) -> NoShowReport:
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = _range(clinic, args, clock().now())
    return no_show_report(session(), clinic, start, end)


def _range(clinic: Clinic, args: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    first, last = args.get("from_"), args.get("to")
    if first is None and last is None:
        yesterday = local_day(now, clinic.timezone) - timedelta(days=1)
        first, last = yesterday - timedelta(days=29), yesterday
    elif first is None or last is None:
        raise ValidationError("give both from and to, or neither", field="from" if first is None else "to")
    start, end = instant_range(first, last, clinic.timezone)
    assert start is not None and end is not None
    kpi_range_check(start, end)
    return start, end


@blp.route("/reports/no-shows", methods=["GET"])
@manager_only
@blp.arguments(NoShowArgs, location="query")
@blp.response(200, NoShowReportSchema)
def no_shows(args: dict[str, Any]) -> Any:
    """No-show rates of reminded against held-out (or unreminded) bookings, with Wilson intervals and a z-test.

    By arm, by channel and by step.

    Bookings count by the day of their visit. The no-show rate is no-shows / (attended + no-shows); cancelled
    bookings are not in it (no visit was due, and a reminder often turns a no-show into a cancellation) and are shown
    beside it. A step counts as sent when the provider took the SMS or call, or a human call was handed to a person.

    With a holdout (`reminder_holdout_percent` on PATCH /clinic) the arms are the reminded and the held-out bookings,
    each as the hash placed it whatever was then sent (intention to treat): that comparison is causal. Bookings planned
    while no holdout was on are in neither arm (`outside_holdout`). Without a holdout the groups are the bookings that
    got a reminder step and those that got none, and `causal` is false: those patients differ in other ways too.
    The rows by channel and by step set the reminded bookings that got that channel or step against the same control;
    they are descriptive.

    Each rate carries its Wilson 95 % interval. Significance is the pooled two-proportion z-test, two-sided at 5 %
    (`significant`, `p_value`); `intervals_overlap` is shown too, but overlapping intervals do not rule out a
    significant difference, so the test decides. `verdict` is not_significant while the data cannot tell yet."""
    r = _report(args)
    return {
        "start": r.start,
        "end": r.end,
        "timezone": r.timezone,
        "mode": r.mode,
        "causal": r.causal,
        "holdout_percent": r.holdout_percent,
        "verdict": r.verdict,
        "statement": r.statement,
        "outside_holdout": r.outside_holdout,
        "arms": [group_row(r.treated), group_row(r.control)],
        "channels": [group_row(g) for g in r.channels],
        "steps": [group_row(g) for g in r.steps],
    }


@blp.route("/reports/no-shows.csv", methods=["GET"])
@manager_only
@blp.arguments(NoShowArgs, location="query")
@blp.response(200, CSV_TEXT, description="One row per group: the arms, then by channel, then by step", **CSV)
def no_shows_csv(args: dict[str, Any]) -> Response:
    """The no-show report as CSV: the rows of GET /reports/no-shows, each with the report's mode and causal."""
    r = _report(args)
    groups = [r.treated, r.control, *r.channels, *r.steps]
    rows = [[r.mode, r.causal, *group_row(g).values()] for g in groups]
    return csv_response("no-shows.csv", ["mode", "causal", *ROW_FIELDS], rows)
