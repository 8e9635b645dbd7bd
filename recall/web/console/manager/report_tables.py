"""The dashboard's recall funnel, time to answer and no-shows with and without reminders: the team's rows of the
reports GET /reports/funnel, /reports/time-to-answer and /reports/no-shows give (their definitions are in
``recall.queue.funnel``, ``.answer_times`` and ``recall.reminders.no_shows``), over the dashboard's KPI range and
grouping, as tables the page shows and the CSV holds. The no-show report's statement is put in the manager's words
by ``no_show_words``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from recall.clinic.clinics import Clinic
from recall.queue.answer_times import answer_times
from recall.queue.funnel import recall_funnel
from recall.reminders.no_shows import Group, NoShowReport, no_show_report
from recall.web.console.manager.figures import COUNT, DAY, DECIMAL, P_VALUE, RATIO, SECONDS, TEXT, KpiRange, Table
from recall.web.console.manager.no_show_words import group_label, section_label


def funnel_table(clinic: Clinic, session: Any, kpis: KpiRange) -> Table:
    """Per period, the win-back tasks opened then: how many were reached, booked and attended, with the shares."""
    columns = [
        ("period", _("Period from"), DAY),
        ("opened", _("Tasks opened"), COUNT),
        ("contacted", _("Reached"), COUNT),
        ("booked", _("Booked"), COUNT),
        ("attended", _("Attended"), COUNT),
        ("contact_share", _("Opened to reached"), RATIO),
        ("booking_share", _("Reached to booked"), RATIO),
        ("attendance_share", _("Booked to attended"), RATIO),
        ("days_to_contact_median", _("Days to reach (median)"), DECIMAL),
        ("days_to_booking_median", _("Days to book (median)"), DECIMAL),
        ("days_to_visit_median", _("Days to the visit (median)"), DECIMAL),
    ]
    rows = recall_funnel(session, clinic, start=kpis.start, end=kpis.end, group=kpis.group)  # type: ignore[arg-type]
    table = Table("funnel", columns)
    for r in rows:
        if r.total:
            table.rows.append([r.period_start, *(getattr(r, c[0]) for c in columns[1:])])
    return table


def answer_table(clinic: Clinic, session: Any, now: Any, kpis: KpiRange) -> Table:
    """Per period, the team's waits: win-back work from due, patients' requests, callbacks against the hold."""
    columns = [
        ("period", _("Period from"), DAY),
        ("winback_tasks", _("Win-back tasks first called"), COUNT),
        ("winback_wait_median", _("Wait from due (median)"), SECONDS),
        ("winback_wait_p90", _("Wait from due (90th percentile)"), SECONDS),
        ("requests", _("Patients' requests answered"), COUNT),
        ("request_wait_median", _("Wait for a request (median)"), SECONDS),
        ("request_wait_p90", _("Wait for a request (90th percentile)"), SECONDS),
        ("callbacks", _("Callbacks due"), COUNT),
        ("callback_on_time_share", _("Callbacks on time"), RATIO),
    ]
    rows = answer_times(session, clinic, now, start=kpis.start, end=kpis.end, group=kpis.group)  # type: ignore[arg-type]
    table = Table("answer_times", columns)
    for r in rows:
        if r.staff_id is None:
            table.rows.append([r.period_start, *(getattr(r, c[0]) for c in columns[1:])])
    return table


def no_shows(clinic: Clinic, session: Any, kpis: KpiRange) -> NoShowReport:
    """The no-show report over the bookings whose visit falls in the dashboard's range (its grouping aside)."""
    return no_show_report(session, clinic, kpis.start, kpis.end)


def no_show_table(report: NoShowReport) -> Table:
    """The arms, then the reminded bookings by channel and by step, each against the control: the rows of
    GET /reports/no-shows. No row while no booking of the range has an outcome."""
    columns = [
        ("section", _("Breakdown"), TEXT),
        ("group", _("Group"), TEXT),
        ("name", _("Name in the API"), TEXT),
        ("bookings", _("Bookings with an outcome"), COUNT),
        ("attended", _("Attended"), COUNT),
        ("no_shows", _("No-shows"), COUNT),
        ("cancelled", _("Cancelled"), COUNT),
        ("no_show_rate", _("No-show rate"), RATIO),
        ("ci_low", _("Interval low (95%)"), RATIO),
        ("ci_high", _("Interval high (95%)"), RATIO),
        ("difference", _("Difference from the control"), RATIO),
        ("p_value", _("p-value"), P_VALUE),
        ("significant", _("Significant"), TEXT),
    ]
    table = Table("no_shows", columns)
    groups = [report.treated, report.control, *report.channels, *report.steps]
    if any(g.bookings or g.cancelled for g in groups):
        table.rows = [_no_show_row(g) for g in groups]
    return table


def _no_show_row(g: Group) -> list[Any]:
    ci, test = g.interval, g.test
    significant = None if test is None else _("Yes") if test.significant else _("No")
    return [
        section_label(g.section),
        group_label(g),
        g.name,
        g.bookings,
        g.attended,
        g.no_shows,
        g.cancelled,
        g.no_show_rate,
        ci[0] if ci else None,
        ci[1] if ci else None,
        test.difference if test else None,
        test.p_value if test else None,
        significant,
    ]
