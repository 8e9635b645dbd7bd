"""The front desk's day: today's schedule of the clinic, the visits under way and done, and the desk member's
own earnings this pay period (as GET /api/v1/earnings/me has them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_babel import gettext as _

from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.common.timeutil import local_day
from recall.credit import earnings
from recall.credit.earnings import Earnings
from recall.visits.schedule import day_schedule, visits_checked_out, visits_under_way
from recall.web.common import clock, session
from recall.web.console.frontdesk import blp
from recall.web.console.frontdesk.forms import day_of, local_iso
from recall.web.console.pages import clinic, console_actor, page, render, wants_csv
from recall.web.csv_files import csv_response

DESK = (Role.FRONTDESK, Role.MANAGER)


def my_earnings() -> Earnings:
    """The signed-in member's earnings in the current pay period: the use case of GET /api/v1/earnings/me."""
    start, end = earnings.period(clinic(), clock().now())
    return earnings.staff_earnings(session(), console_actor().member_id, start, end)


def _day() -> tuple[date, dict[str, list[str]]]:
    today = local_day(clock().now(), clinic().timezone)
    try:
        return day_of(request.args.get("day"), "day") or today, {}
    except ValidationError as error:
        return today, error.fields


@blp.get("/")
@page(*DESK)
def today() -> Any:
    day, errors = _day()
    rows = day_schedule(session(), clinic(), day)
    if wants_csv():
        return csv_response(
            f"schedule-{day.isoformat()}.csv",
            [_("Start"), _("End"), _("Patient"), _("Phone"), _("Provider"), _("Service"), _("Status"), _("Visit")],
            (
                [
                    local_iso(r.booking.start_at, clinic().timezone),
                    local_iso(r.booking.end_at, clinic().timezone),
                    r.patient.full_name,
                    r.patient.phone_e164,
                    r.provider.name if r.provider else "",
                    r.service.name if r.service else "",
                    r.booking.status.value,
                    r.visit.status.value if r.visit else "",
                ]
                for r in rows
            ),
        )
    return render(
        "frontdesk/today.html",
        fragment="frontdesk/_schedule.html",
        day=day,
        is_today=day == local_day(clock().now(), clinic().timezone),
        rows=rows,
        under_way=visits_under_way(session(), clinic().id),
        done=visits_checked_out(session(), clinic(), day),
        mine=my_earnings(),
        errors=errors,
        status=422 if errors else 200,
    )


@blp.get("/earnings")
@page(*DESK)
def my_earnings_page() -> Any:
    mine = my_earnings()
    if wants_csv():
        return csv_response(
            f"earnings-{mine.start.isoformat()}.csv",
            [
                _("Day"),
                _("Booked"),
                _("Booked amount"),
                _("Earned"),
                _("Earned amount"),
                _("Voided"),
                _("Voided amount"),
            ],
            (
                [
                    d.day.isoformat(),
                    d.booked_count,
                    d.booked_cents / 100,
                    d.earned_count,
                    d.earned_cents / 100,
                    d.voided_count,
                    d.voided_cents / 100,
                ]
                for d in mine.days
            ),
        )
    return render("frontdesk/earnings.html", mine=mine)
