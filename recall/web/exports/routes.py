"""Exports as CSV: the monthly payroll for accounting, the recall queue and its overdue list.

Each answers ``text/csv`` (UTF-8 with a BOM, so a spreadsheet reads every language right; a cell that a
spreadsheet would run as a formula is quoted). Amounts are in the clinic's currency, with the minor units as
integers beside them, so nothing is lost to rounding.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.web.auth import manager_only, roles
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.csv_files import csv_response
from recall.web.exports import tables
from recall.web.exports.schemas import PayrollArgs

blp = Blueprint("exports", __name__, description="Exports as CSV: payroll, the recall queue, the overdue list")
CSV: dict[str, Any] = {"content_type": "text/csv"}
CSV_TEXT = {"type": "string", "description": "CSV, UTF-8 with a byte-order mark; the first line names the columns"}


@blp.route("/exports/payroll.csv", methods=["GET"])
@manager_only
@blp.arguments(PayrollArgs, location="query")
@blp.response(200, CSV_TEXT, description="One row per staff member, day and kind of earned credit, then each staff "
              "member's total and the clinic's", **CSV)  # fmt: skip
def payroll_csv(args: dict[str, Any]) -> Response:
    """The monthly payroll: earned credit per staff member by day and by kind, with totals equal to the ledger.

    Only earned credit is pay (the patient came). `kind` is `desk` (booked face to face), `recall` (won back from
    the recall queue, at the clinic's multiplier, as the ledger holds it) or `remote` (another booking an operator
    made by phone, chat or SMS). After each staff member's lines comes their `total` line (day empty; staff with
    nothing earned have only that), and the last line is the clinic's `total` (staff empty)."""
    clinic = get_clinic(session(), actor().clinic_id)
    return csv_response(*tables.payroll_table(session(), clinic, clock().now(), args.get("month")))


@blp.route("/exports/recall-queue.csv", methods=["GET"])
@roles(Role.OPERATOR, Role.MANAGER)
@blp.response(200, CSV_TEXT, description="One row per waiting task, in the order operators get them", **CSV)
def recall_queue_csv() -> Response:
    """The recall queue: every task still waiting (open or parked), in the order operators are given work.

    Times are in the clinic's zone; `days_overdue` is the whole days past due (empty while not due); `held_by` is
    the operator whose lease is live, `callback_for` the one a callback is reserved for while it holds."""
    return _work_csv("recall-queue", overdue_only=False)


@blp.route("/exports/overdue.csv", methods=["GET"])
@roles(Role.OPERATOR, Role.MANAGER)
@blp.response(200, CSV_TEXT, description="One row per overdue open task, the most overdue first", **CSV)
def overdue_csv() -> Response:
    """The overdue list: open tasks whose due time has passed, the most overdue first, with the days overdue."""
    return _work_csv("overdue", overdue_only=True)


def _work_csv(name: str, *, overdue_only: bool) -> Response:
    clinic = get_clinic(session(), actor().clinic_id)
    return csv_response(*tables.work_table(session(), clinic, clock().now(), name, overdue_only=overdue_only))
