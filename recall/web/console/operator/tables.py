"""The operator's tables, each a page and a CSV download (?format=csv): callbacks due today, their contact
attempts this pay period (as GET /recall-tasks/{id}/attempts, by staff member) and their earnings by day (as
GET /earnings/me), and the queue and its overdue list as the API exports them."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from recall.common.actors import Role
from recall.common.timeutil import at_local, local_day, zone
from recall.credit import earnings
from recall.queue import attempts, desk
from recall.web.common import clock, session
from recall.web.console.operator import blp
from recall.web.console.operator.targets import targets_context
from recall.web.console.pages import clinic, console_actor, page, render, wants_csv
from recall.web.csv_files import csv_response
from recall.web.exports.tables import work_table

# The most attempts one page lists (a pay period of a busy operator fits; the CSV has them all).
ATTEMPTS_SHOWN = 500


def _iso(value: Any) -> str:
    return "" if value is None else value.isoformat()


@blp.get("/callbacks")
@page(Role.OPERATOR, Role.MANAGER)
def callbacks() -> Any:
    c, now, me = clinic(), clock().now(), console_actor()
    today = local_day(now, c.timezone)
    due = desk.callbacks_due(session(), c, me.member_id, today)
    if wants_csv():
        return csv_response(
            f"callbacks-{today.isoformat()}.csv",
            [_("Task"), _("Patient"), _("Phone"), _("Due (UTC)"), _("Patient's local time"), _("Reason")],
            (
                [
                    cb.task.id,
                    cb.patient_name,
                    cb.phone,
                    _iso(cb.task.due_at),
                    cb.task.due_at.astimezone(zone(cb.patient_zone)).strftime("%Y-%m-%d %H:%M"),
                    cb.task.reason.value,
                ]
                for cb in due
            ),
        )
    return render("operator/callbacks.html", callbacks=due, today=today, zone=zone)


@blp.get("/attempts")
@page(Role.OPERATOR, Role.MANAGER)
def my_attempts() -> Any:
    c, now, me = clinic(), clock().now(), console_actor()
    start, end = earnings.period(c, now)
    stmt = attempts.list_attempts(c.id, staff_id=me.member_id, since=at_local(start, 0, c.timezone))
    rows = list(session().scalars(stmt))
    if wants_csv():
        return csv_response(
            f"attempts-{start.isoformat()}.csv",
            [
                _("Attempt"),
                _("Task"),
                _("Ended (UTC)"),
                _("Channel"),
                _("Outcome"),
                _("Seconds"),
                _("Note"),
                _("Decline reason"),
                _("Callback at (UTC)"),
                _("Booking"),
            ],
            (
                [
                    a.id,
                    a.task_id,
                    _iso(a.ended_at),
                    a.channel.value,
                    a.outcome.value,
                    a.duration_seconds,
                    a.note,
                    a.decline_reason,
                    _iso(a.callback_at),
                    a.booking_id,
                ]
                for a in rows
            ),
        )
    return render(
        "operator/attempts.html", attempts=rows[-ATTEMPTS_SHOWN:][::-1], start=start, end=end, total=len(rows)
    )


@blp.get("/earnings")
@page(Role.OPERATOR, Role.MANAGER)
def my_earnings() -> Any:
    c, now, me = clinic(), clock().now(), console_actor()
    start, end = earnings.period(c, now)
    mine = earnings.staff_earnings(session(), me.member_id, start, end)
    if wants_csv():
        return csv_response(
            f"earnings-{start.isoformat()}.csv",
            [
                _("Day"),
                _("Booked"),
                _("Booked amount"),
                _("Earned"),
                _("Earned amount"),
                _("Void"),
                _("Void amount"),
                _("Currency"),
            ],
            (
                [
                    d.day.isoformat(),
                    d.booked_count,
                    _major(d.booked_cents),
                    d.earned_count,
                    _major(d.earned_cents),
                    d.voided_count,
                    _major(d.voided_cents),
                    c.currency,
                ]
                for d in mine.days
            ),
        )
    return render("operator/earnings.html", earnings=mine, **targets_context(session(), c, now, me.member_id))


def _major(cents: int) -> str:
    return f"{cents / 100:.2f}"


@blp.get("/exports/recall-queue.csv")
@page(Role.OPERATOR, Role.MANAGER)
def queue_csv() -> Any:
    """The recall queue as the API exports it (GET /exports/recall-queue.csv)."""
    return csv_response(*work_table(session(), clinic(), clock().now(), "recall-queue", overdue_only=False))


@blp.get("/exports/overdue.csv")
@page(Role.OPERATOR, Role.MANAGER)
def overdue_csv() -> Any:
    """The overdue list as the API exports it (GET /exports/overdue.csv)."""
    return csv_response(*work_table(session(), clinic(), clock().now(), "overdue", overdue_only=True))
