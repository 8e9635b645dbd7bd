"""The dashboard's recall funnel and time to answer: the team's rows of the reports GET /reports/funnel and
GET /reports/time-to-answer give (their definitions are in ``recall.queue.funnel`` and ``.answer_times``), over
the dashboard's KPI range and grouping, as tables the page shows and the CSV holds.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from recall.clinic.clinics import Clinic
from recall.queue.answer_times import answer_times
from recall.queue.funnel import recall_funnel
from recall.web.console.manager.figures import COUNT, DAY, DECIMAL, RATIO, SECONDS, KpiRange, Table


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
