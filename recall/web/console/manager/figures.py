"""The dashboard's numbers: one table per chart, computed by the same use cases the JSON API's views call
(``recall.web.queue_stats``, ``recall.web.earnings``), read with the API's own query schemas.

A table is what the page shows, the CSV download holds and the chart draws: one source, so the three agree.
Money is kept in minor units (as the API answers) and shown in the clinic's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from recall.clinic.clinics import Clinic
from recall.credit import earnings
from recall.queue import health as queue_health
from recall.queue import staffing
from recall.queue import stats as queue_stats
from recall.queue.health import QueueHealth
from recall.web.console.manager.forms import Errors, load
from recall.web.queue_stats.routes import kpi_range
from recall.web.queue_stats.schemas import KpiArgs, StaffingArgs

# The kinds of cell: how a value is shown (the CSV holds it as the API gives it). A p-value shows 3 decimals, so
# that one just above 0.05 does not read as 0.05.
TEXT, COUNT, RATIO, MONEY, SECONDS, DAY, DECIMAL = "text", "count", "ratio", "money", "seconds", "day", "decimal"
P_VALUE = "p_value"
BANDS = ("not_yet_due", "overdue_under_1_day", "overdue_1_to_7_days", "overdue_7_to_30_days", "overdue_over_30_days")


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str, str]]  # (key for the CSV, label, kind)
    rows: list[list[Any]] = field(default_factory=list)

    def column(self, key: str) -> list[Any]:
        index = [c[0] for c in self.columns].index(key)
        return [row[index] for row in self.rows]


def band_labels() -> dict[str, str]:
    return {
        "not_yet_due": _("Not yet due"),
        "overdue_under_1_day": _("Due, under 1 day"),
        "overdue_1_to_7_days": _("1–7 days overdue"),
        "overdue_7_to_30_days": _("7–30 days overdue"),
        "overdue_over_30_days": _("Over 30 days overdue"),
    }


def queue_table(health: QueueHealth) -> Table:
    labels = band_labels()
    columns = [("service", _("Service"), TEXT), ("open", _("Open"), COUNT)]
    columns += [(band, labels[band], COUNT) for band in BANDS]
    columns += [
        ("leased", _("Being called"), COUNT),
        ("callbacks", _("Callbacks"), COUNT),
        ("parked", _("Waiting for a number"), COUNT),
        ("unreachable", _("Unreachable, 30 days"), COUNT),
    ]
    keys = [c[0] for c in columns[1:]]
    table = Table("queue", columns)
    for s in health.services:
        name = s.service_name if s.service_id is not None else _("No service")
        table.rows.append([name, *(getattr(s, k) for k in keys)])
    return table


def health_now(clinic: Clinic, session: Any, now: Any) -> QueueHealth:
    return queue_health.queue_health(session, clinic, now)


@dataclass
class KpiRange:
    group: str
    rows: list[queue_stats.KpiRow]
    start: Any
    end: Any


def kpi_args(args: MultiDict[str, str]) -> tuple[dict[str, Any], Errors]:
    """The KPI range and grouping as the API reads them (``from``, ``to``, ``group``)."""
    asked = {k: v for k, v in args.items() if k in ("from", "to", "group") and v}
    loaded, errors = load(KpiArgs(), asked)
    return (loaded if loaded is not None else {"group": "day"}), errors


def kpis(clinic: Clinic, session: Any, now: Any, args: dict[str, Any]) -> KpiRange:
    start, end = kpi_range(clinic, args, now)
    rows = queue_stats.team_kpis(session, clinic, start=start, end=end, group=args["group"])
    return KpiRange(args["group"], rows, start, end)


def kpi_table(kpis: KpiRange) -> Table:
    columns = [
        ("period", _("Period from"), DAY),
        ("operator", _("Operator"), TEXT),
        ("attempts", _("Attempts"), COUNT),
        ("contacts", _("Contacts"), COUNT),
        ("refusals", _("Refusals"), COUNT),
        ("bookings", _("Bookings"), COUNT),
        ("attempts_per_hour", _("Attempts per hour"), DECIMAL),
        ("avg_handle_seconds", _("Handle time"), SECONDS),
        ("avg_wrap_up_seconds", _("Wrap-up"), SECONDS),
        ("conversion", _("Conversion"), RATIO),
        ("first_contact_resolution", _("First-contact resolution"), RATIO),
        ("realized_rate", _("Attended"), RATIO),
    ]
    table = Table("kpis", columns)
    for r in kpis.rows:
        who = r.staff_name if r.staff_id is not None else _("Team")
        table.rows.append([r.period_start, who, *(getattr(r, c[0]) for c in columns[2:])])
    return table


def conversion_table(kpis: KpiRange) -> Table:
    """The team's funnel per period: recall tasks closed, won (booked), and bookings attended."""
    columns = [
        ("period", _("Period from"), DAY),
        ("tasks_closed", _("Tasks closed"), COUNT),
        ("tasks_won", _("Booked"), COUNT),
        ("credited_bookings", _("Bookings credited"), COUNT),
        ("bookings_attended", _("Attended"), COUNT),
        ("conversion", _("Task to booking"), RATIO),
        ("realized_rate", _("Booking to visit"), RATIO),
    ]
    table = Table("conversion", columns)
    for r in kpis.rows:
        if r.staff_id is None:
            table.rows.append([r.period_start, *(getattr(r, c[0]) for c in columns[1:])])
    return table


def earnings_table(clinic: Clinic, session: Any, now: Any) -> tuple[Table, date, date]:
    start, end = earnings.period(clinic, now)
    people = earnings.team_earnings(session, clinic.id, start, end)
    columns = [
        ("staff", _("Staff member"), TEXT),
        ("role", _("Role"), TEXT),
        ("earned_cents", _("Earned"), MONEY),
        ("earned_count", _("Visits attended"), COUNT),
        ("pending_cents", _("Pending"), MONEY),
        ("pending_count", _("Bookings pending"), COUNT),
        ("voided_cents", _("Voided"), MONEY),
    ]
    roles = {"operator": _("Operator"), "frontdesk": _("Front desk")}
    table = Table("earnings", columns)
    for p in people:
        table.rows.append([p.name, roles.get(p.role.value, p.role.value), *(getattr(p, c[0]) for c in columns[2:])])
    return table, start, end


def staffing_args(args: MultiDict[str, str]) -> tuple[dict[str, Any], Errors]:
    asked = {k: v for k, v in args.items() if k in StaffingArgs().fields and v}
    loaded, errors = load(StaffingArgs(), asked)
    return (loaded if loaded is not None else StaffingArgs().load({})), errors


def staffing_table(clinic: Clinic, session: Any, now: Any, args: dict[str, Any]) -> tuple[Table, Any]:
    plan = staffing.forecast(session, clinic, now, **args)
    rows = [
        ("due_in_window", _("Tasks due within the target"), COUNT, plan.due_in_window),
        ("incoming_tasks", _("New tasks expected"), DECIMAL, plan.incoming_tasks),
        ("attempts_per_task", _("Attempts per task"), DECIMAL, plan.attempts_per_task),
        ("seconds_per_attempt", _("Seconds per attempt, with wrap-up"), DECIMAL, plan.seconds_per_attempt),
        ("workload_hours", _("Workload (hours)"), DECIMAL, plan.workload_hours),
        ("hours_per_operator", _("Hours per operator"), DECIMAL, plan.hours_per_operator),
        ("operators_needed", _("Operators needed"), COUNT, plan.operators_needed),
        ("operators_active", _("Operators active lately"), COUNT, plan.operators_active),
    ]
    table = Table(
        "staffing",
        [("figure", _("Figure"), TEXT), ("field", _("Name in the API"), TEXT), ("value", _("Value"), DECIMAL)],
    )
    table.rows = [[label, key, value] for key, label, _kind, value in rows]
    return table, plan


def surge_lines(status: Any) -> list[str]:
    """Why the clinic is in a surge, in the reader's language: one line per threshold crossed."""
    lines = []
    backlog = f"{status.backlog_threshold} or more tasks are due"
    for reason in status.reasons:
        if reason == backlog:
            lines.append(_("%(count)s or more tasks are due", count=status.backlog_threshold))
        elif reason.startswith(f"{status.overdue_tasks_threshold} or more tasks are"):
            lines.append(
                _(
                    "%(count)s or more tasks are %(days)s or more days overdue",
                    count=status.overdue_tasks_threshold,
                    days=status.overdue_days_threshold,
                )
            )
        else:
            lines.append(reason)
    return lines
