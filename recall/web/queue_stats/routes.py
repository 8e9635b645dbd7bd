"""Queue statistics for managers: the queue's health, the team's KPIs and the staffing forecast.

Read-only views over recall.queue_stats and recall.staffing. Every figure is the clinic's own; the
ranges are read in the clinic's zone, so "a day" is the day the clinic lived through.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.staff import get_staff
from recall.common.errors import NotFound, ValidationError
from recall.common.timeutil import local_day
from recall.queue import health as queue_health
from recall.queue import staffing
from recall.queue import stats as queue_stats
from recall.web.auth import manager_only
from recall.web.common import actor, clock, instant_range, session
from recall.web.contract import Blueprint
from recall.web.queue_stats.schemas import (
    KpiArgs,
    QueueHealthSchema,
    StaffingArgs,
    StaffingForecastSchema,
    TeamKpisSchema,
)

blp = Blueprint("queue_stats", __name__, description="Recall queue health, team KPIs and staffing")


@blp.route("/recall-queue/health", methods=["GET"])
@manager_only
@blp.response(200, QueueHealthSchema)
def health() -> Any:
    """The queue right now: open, due, overdue by age, leased, callbacks, parked, recently unreachable; per service."""
    clinic = get_clinic(session(), actor().clinic_id)
    return queue_health.queue_health(session(), clinic, clock().now())


def kpi_range(clinic: Clinic, args: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The range asked for; by default the last 7 local days (day) or the last 4 ISO weeks (week), today included."""
    start, end = args.get("from_"), args.get("to")
    if start is None and end is None:
        today = local_day(now, clinic.timezone)
        start, end = today - timedelta(days=6 if args["group"] == "day" else today.weekday() + 21), today
    elif start is None or end is None:
        raise ValidationError("give both from and to, or neither", field="from" if start is None else "to")
    first, last = instant_range(start, end, clinic.timezone)
    assert first is not None and last is not None
    return first, last


@blp.route("/recall-queue/kpis", methods=["GET"])
@manager_only
@blp.arguments(KpiArgs, location="query")
@blp.response(200, TeamKpisSchema)
def kpis(args: dict[str, Any]) -> Any:
    """The team's KPIs per operator and local day or ISO week.

    Attempts, contacts, pace, handle and wrap-up, conversion, first-contact resolution and the realized rate,
    each ratio with its numerator and denominator. The definitions:

    - An attempt belongs to the period of its start; a contact is an answered attempt (the patient was reached).
    - Working time: an operator's attempts form stretches; a gap of more than 30 minutes between the latest end
      so far and the next start ends one. A stretch's span, first start to last end, is working time.
    - Pace: `attempts_per_hour` and `contacts_per_hour`, attempts and contacts per working hour.
    - Handle time: an attempt's own logged duration; `avg_handle_seconds` is its mean over the attempts.
    - Wrap-up (the time between contacts): the idle gaps between attempts inside a stretch;
      `avg_wrap_up_seconds` is their mean.
    - Conversion: of the win-back tasks the operator closed through the queue (won, declined, unreachable, opted
      out), the share won; desk corrections and service calls are left out.
    - First-contact resolution: of the tasks won, those booked on their first answered attempt.
    - Realized rate: of the bookings credited to the operator in the period, the attended share of those whose
      outcome is known; `bookings_pending` are left out."""
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = kpi_range(clinic, args, clock().now())
    staff_id = args.get("staff_id")
    if staff_id is not None:
        try:
            get_staff(session(), clinic.id, staff_id)
        except NotFound:
            raise ValidationError(f"no staff member {staff_id} in this clinic", field="staff_id") from None
    rows = queue_stats.team_kpis(session(), clinic, start=start, end=end, group=args["group"], staff_id=staff_id)
    return {"start": start, "end": end, "group": args["group"], "timezone": clinic.timezone, "rows": rows}


@blp.route("/recall-queue/staffing", methods=["GET"])
@manager_only
@blp.arguments(StaffingArgs, location="query")
@blp.response(200, StaffingForecastSchema)
def staffing_forecast(args: dict[str, Any]) -> Any:
    """How many operators it takes to clear the work due within target_days, from the queue and its history."""
    clinic = get_clinic(session(), actor().clinic_id)
    return staffing.forecast(session(), clinic, clock().now(), **args)
