"""What the desk shows: the held patient's card (from the claim sheet the API returns), the outcome form's
choices, and beside it the operator's earnings this pay period, the task's worth and today's callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_datetime

from recall.clinic.catalog import list_providers, list_services
from recall.common.actors import Actor
from recall.common.timeutil import local_day, zone
from recall.credit import earnings
from recall.credit.worth import task_worth
from recall.queue import claim_sheet, desk
from recall.queue.calling_hours import in_calling_hours
from recall.queue.claims import Claim
from recall.web.common import clock, session
from recall.web.console.pages import clinic, console_actor

# How many of today's callbacks the panel beside the card lists (the page lists all).
CALLBACKS_SHOWN = 5


@dataclass(frozen=True)
class Hours:
    weekday: str
    weekend: str
    open_now: bool


def hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def _hours(zone_name: str, now: datetime) -> Hours:
    c = clinic()
    return Hours(
        weekday=f"{hhmm(c.calling_weekday_start)}–{hhmm(c.calling_weekday_end)}",
        weekend=f"{hhmm(c.calling_weekend_start)}–{hhmm(c.calling_weekend_end)}",
        open_now=in_calling_hours(c, zone_name, now),
    )


def panel(actor: Actor, now: datetime) -> dict[str, Any]:
    """The operator's own figures: earned and pending this pay period (as GET /earnings/me), and the
    callbacks due today."""
    c = clinic()
    start, end = earnings.period(c, now)
    mine = earnings.staff_earnings(session(), actor.member_id, start, end)
    due = desk.callbacks_due(session(), c, actor.member_id, local_day(now, c.timezone))
    return {"earnings": mine, "callbacks": due[:CALLBACKS_SHOWN], "callbacks_count": len(due)}


def desk_context(
    claim: Claim | None,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    empty: bool = False,
) -> dict[str, Any]:
    """Everything desk.html needs. ``claim``: the patient on the desk (None: nobody); ``empty``: a claim just
    found nobody to call."""
    s, now, actor = session(), clock().now(), console_actor()
    c = clinic()
    sheet = claim_sheet.sheet_for(s, claim, c.id, now) if claim is not None and claim.tasks else None
    context: dict[str, Any] = {
        "sheet": sheet,
        "surge": claim.surge if claim is not None else None,
        "closed_on_the_way": claim.closed_on_the_way if claim is not None else 0,
        "errors": errors or {},
        "form": form or {},
        "notice": notice,
        "empty": empty,
        "now_epoch": int(now.timestamp()),
        **panel(actor, now),
    }
    if sheet is None:
        return context
    head = sheet.tasks[0]
    expires = head.task.lease_expires_at
    patient_zone = sheet.patient.timezone
    context.update(
        head=head,
        others=sheet.tasks[1:],
        outcomes=[o.value for o in desk.outcomes_for(head.task.reason)],
        worth=task_worth(s, head.task),
        lease_seconds=max(0, int((expires - now).total_seconds())) if expires else 0,
        patient_time=format_datetime(sheet.patient.local_time, "EEE HH:mm", rebase=False),
        patient_zone=patient_zone,
        hours=_hours(patient_zone, now),
        provider_options=[
            (p.id, f"{p.name} ({p.specialty})" if p.specialty else p.name)
            for p in s.scalars(list_providers(c.id, active=True))
        ],
        service_options=[(sv.id, sv.name) for sv in s.scalars(list_services(c.id, active=True))],
        callback_min=now.astimezone(zone(patient_zone)).strftime("%Y-%m-%dT%H:%M"),
        booking_min=now.astimezone(zone(c.timezone)).strftime("%Y-%m-%dT%H:%M"),
    )
    return context
