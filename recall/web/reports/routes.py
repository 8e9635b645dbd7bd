"""The managers' reports: the recall funnel and time to answer, as JSON and as CSV.

Read-only views over recall.queue.funnel and recall.queue.answer_times. The range is read in the clinic's zone
as the KPIs' is (by default the last 7 local days, or the last 4 ISO weeks); each CSV has the JSON rows' fields
as its columns, in the same order.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from recall.clinic.catalog import get_service
from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.staff import get_staff
from recall.common.errors import NotFound, ValidationError
from recall.common.timeutil import local_day
from recall.queue.answer_times import AnswerTimeRow, answer_times
from recall.queue.funnel import FunnelRow, recall_funnel
from recall.queue.tasks import TaskReason
from recall.web.auth import manager_only
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.csv_files import csv_response
from recall.web.exports.routes import CSV, CSV_TEXT
from recall.web.queue_stats.routes import kpi_range
from recall.web.reports.schemas import AnswerTimeArgs, AnswerTimesSchema, FunnelArgs, FunnelSchema

blp = Blueprint("reports", __name__, description="Managers' reports: the recall funnel and time to answer")


def _query(args: dict[str, Any]) -> tuple[Clinic, dict[str, Any]]:
    """The clinic and the report's keyword arguments, the staff member and service checked to be the clinic's."""
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = kpi_range(clinic, args, clock().now())
    for name, get in (("staff_id", get_staff), ("service_id", get_service)):
        if args.get(name) is not None:
            try:
                get(session(), clinic.id, args[name])
            except NotFound:
                raise ValidationError(f"no such {name.removesuffix('_id')} in this clinic", field=name) from None
    reason = TaskReason(args["reason"]) if args.get("reason") else None
    picked = {"staff_id": args.get("staff_id"), "service_id": args.get("service_id"), "reason": reason}
    return clinic, {"start": start, "end": end, "group": args["group"], **picked}


def _answer(clinic: Clinic, kw: dict[str, Any], rows: list[Any]) -> dict[str, Any]:
    return {"start": kw["start"], "end": kw["end"], "group": kw["group"], "timezone": clinic.timezone, "rows": rows}


def _csv(name: str, clinic: Clinic, start: datetime, row_type: type, rows: list[Any]) -> Response:
    header = [f.name for f in fields(row_type)]
    day = local_day(start, clinic.timezone).isoformat()
    return csv_response(f"{name}-{day}.csv", header, ([*asdict(r).values()] for r in rows))


FUNNEL = """

The cohort is the win-back tasks opened (created) in the period, a local day or ISO week in the clinic's zone;
service calls (reminder calls, patients' requests) are never in it. Its stages:

- **opened**: the task was opened.
- **contacted**: the patient was reached (an answered attempt).
- **booked**: the task was won from the queue (closed as booked). `booked_elsewhere` (the patient booked another
  way) is shown beside the chain, not in it.
- **attended**: the booking made from the task was attended. `attendance_share` is of the bookings whose outcome
  is known (attended, no-show, cancelled), as the KPIs' realized rate; `booked_pending` are still ahead.

A late stage counts for the period the task opened in, so a recent period keeps filling up. The operator of a
task is the one who made its last attempt: on a won task, the one who booked it; null if nobody tried it yet.
Days between stages are real elapsed days (a DST day is 23 or 25 hours), as a median and 90th percentile over
the tasks that reached the later stage: opening → the first answered attempt → the booking → the visit's start.
Each period has a total row (`total` true), then a row per reason, service and operator with any task; the
filters narrow the cohort, so the totals are of what is shown."""

ANSWER_TIMES = """

- **Win-back work** (every reason but the service calls): from the task's due time to its first attempt (0 if
  tried before it fell due).
- **A patient's request** (reason `patient_request`: an SMS reply to read, or key 3 in a reminder call): from the
  request to its first attempt.
- Both belong to the period (local day or ISO week in the clinic's zone) of that first attempt and to the
  operator who made it. Work never tried yet is not here: the queue health's overdue counts show it.
- **Callbacks**: a callback the patient asked for is on time when the task's next attempt starts no later than the
  callback time plus the clinic's callback hold window (`recall_callback_hold_minutes`, as set now). It belongs to
  the period of its callback time and to the operator who took the request. One whose window passed without an
  attempt is late; one whose window is still open is `callbacks_pending`, in no share. The wait runs from the
  callback time to the next attempt (0 when called early).

Waits are in seconds, as a median and a 90th percentile; each period has the team's row (`staff_id` null),
then each operator's. The filters (operator, the task's service and reason) narrow every row, the team's too."""


@blp.route("/reports/funnel", methods=["GET"])
@manager_only
@blp.arguments(FunnelArgs, location="query")
@blp.response(200, FunnelSchema)
@blp.doc(description="What became of the win-back tasks opened in each period, stage by stage." + FUNNEL)
def funnel(args: dict[str, Any]) -> Any:
    """The recall funnel: opened, contacted, booked, attended; shares and days between stages."""
    clinic, kw = _query(args)
    return _answer(clinic, kw, recall_funnel(session(), clinic, **kw))


@blp.route("/reports/funnel.csv", methods=["GET"])
@manager_only
@blp.arguments(FunnelArgs, location="query")
@blp.response(200, CSV_TEXT, description="One row per period total and per reason, service and operator", **CSV)
@blp.doc(description="The funnel's rows (GET /reports/funnel) as CSV, the same columns in the same order." + FUNNEL)
def funnel_csv(args: dict[str, Any]) -> Response:
    """The recall funnel as CSV."""
    clinic, kw = _query(args)
    return _csv("funnel", clinic, kw["start"], FunnelRow, recall_funnel(session(), clinic, **kw))


@blp.route("/reports/time-to-answer", methods=["GET"])
@manager_only
@blp.arguments(AnswerTimeArgs, location="query")
@blp.response(200, AnswerTimesSchema)
@blp.doc(description="How long work waits for an operator's first call, per period, team and operator." + ANSWER_TIMES)
def time_to_answer(args: dict[str, Any]) -> Any:
    """Time to answer: win-back work, patients' requests and callbacks on time; medians and 90th percentiles."""
    clinic, kw = _query(args)
    return _answer(clinic, kw, answer_times(session(), clinic, clock().now(), **kw))


@blp.route("/reports/time-to-answer.csv", methods=["GET"])
@manager_only
@blp.arguments(AnswerTimeArgs, location="query")
@blp.response(200, CSV_TEXT, description="One row per period for the team, then per operator", **CSV)
@blp.doc(description="Time to answer's rows (GET /reports/time-to-answer) as CSV, the same columns." + ANSWER_TIMES)
def time_to_answer_csv(args: dict[str, Any]) -> Response:
    """Time to answer as CSV."""
    clinic, kw = _query(args)
    return _csv(
        "time-to-answer", clinic, kw["start"], AnswerTimeRow, answer_times(session(), clinic, clock().now(), **kw)
    )
