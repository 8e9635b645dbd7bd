"""The manager's downloads for others: the month's payroll for accounting (as GET /exports/payroll.csv)."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from recall.common.actors import Role
from recall.web.common import clock, session
from recall.web.console.manager import blp
from recall.web.console.pages import clinic, page
from recall.web.csv_files import csv_response
from recall.web.exports.tables import payroll_table


@blp.get("/exports/payroll.csv")
@page(Role.MANAGER)
def payroll_csv() -> Response:
    """The payroll of the month asked for (YYYY-MM, as the month field sends it), by default the last complete one."""
    return csv_response(*payroll_table(session(), clinic(), clock().now(), request.args.get("month") or None))
