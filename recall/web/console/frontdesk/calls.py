"""The reminder calls the front desk is to make, and how each went: the outcomes POST
/api/v1/reminder-calls/{id}/outcome offers, applied to the booking by the same use case."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _

from recall.clinic.catalog import list_providers, list_services
from recall.common.errors import Conflict, ValidationError
from recall.reminders import calls as desk_calls
from recall.reminders.calls import RECORDABLE, CallInput, CallState
from recall.reminders.reminders import CallOutcome
from recall.web.common import clock, session
from recall.web.console.frontdesk import blp
from recall.web.console.frontdesk.forms import failed, ident, local_instant, local_iso, text, values
from recall.web.console.frontdesk.views import DESK
from recall.web.console.pages import clinic, console_actor, page, render, wants_csv
from recall.web.csv_files import csv_response

MAX_ROWS = 200
FIELDS = ("outcome", "note", "new_date", "new_time", "new_provider")
RENAME = {"start_at": "new_date", "end_at": "new_date", "provider_id": "new_provider"}


def _catalog() -> dict[str, Any]:
    return {
        "providers": {p.id: p for p in session().scalars(list_providers(clinic().id))},
        "services": {s.id: s for s in session().scalars(list_services(clinic().id))},
    }


@blp.get("/reminder-calls")
@page(*DESK)
def reminder_calls() -> Any:
    try:
        state = CallState(request.args.get("state") or CallState.OPEN.value)
    except ValueError:
        state = CallState.OPEN
    now = clock().now()
    stmt = desk_calls.list_calls(clinic().id, now=now, state=state).limit(MAX_ROWS)
    calls = desk_calls.describe(session(), list(session().scalars(stmt)), now)
    if wants_csv():
        return csv_response(
            f"reminder-calls-{state.value}.csv",
            [_("Visit"), _("Patient"), _("Phone"), _("Booking status"), _("Attempts"), _("Last outcome"), _("Open")],
            (
                [
                    local_iso(c.booking.start_at, clinic().timezone),
                    c.patient.full_name,
                    c.patient.phone_e164,
                    c.booking.status.value,
                    c.reminder.call_attempts,
                    c.reminder.call_outcome.value if c.reminder.call_outcome else "",
                    c.open,
                ]
                for c in calls
            ),
        )
    return render(
        "frontdesk/reminder_calls.html",
        calls=calls,
        state=state,
        states=list(CallState),
        **_catalog(),
    )


def _call_page(reminder_id: int, chosen: dict[str, Any], errors: dict[str, list[str]], status: int) -> Any:
    reminder = desk_calls.get_reminder(session(), clinic().id, reminder_id)  # another clinic's: 404
    call = desk_calls.describe(session(), [reminder], clock().now())[0]
    return render(
        "frontdesk/reminder_call.html",
        status=status,
        call=call,
        outcomes=[o for o in RECORDABLE if o is not CallOutcome.RESCHEDULED],
        outcome_rescheduled=CallOutcome.RESCHEDULED,
        chosen=chosen,
        errors=errors,
        **_catalog(),
    )


@blp.get("/reminder-calls/<int:reminder_id>")
@page(*DESK)
def reminder_call(reminder_id: int) -> Any:
    return _call_page(reminder_id, {}, {}, 200)


def _input() -> CallInput:
    form = request.form
    try:
        outcome = CallOutcome(form.get("outcome") or "")
    except ValueError:
        raise ValidationError(_("is not a valid choice"), field="outcome") from None
    moved: dict[str, Any] = {}
    if outcome is CallOutcome.RESCHEDULED:
        moved = {
            "start_at": local_instant(form, "new_date", "new_time", clinic().timezone),
            "provider_id": ident(form, "new_provider"),
        }
    # An empty note box keeps the call's note; typing one replaces it (the API's "empty clears" needs a text).
    return CallInput(outcome=outcome, note=text(form, "note", max_length=desk_calls.MAX_NOTE), **moved)


@blp.post("/reminder-calls/<int:reminder_id>/outcome")
@page(*DESK)
def record_call(reminder_id: int) -> Any:
    desk_calls.get_reminder(session(), clinic().id, reminder_id)  # another clinic's: 404
    try:
        desk_calls.record_call(session(), clock(), console_actor(), reminder_id, _input())
    except (ValidationError, Conflict) as error:
        errors, status = failed(error, FIELDS, RENAME)
        return _call_page(reminder_id, values(request.form), errors, status)
    return redirect(url_for("frontdesk.reminder_calls"), code=303)
