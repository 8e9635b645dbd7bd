"""Reminders and their delivery state for all staff, and the front desk's list of reminder calls."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recall.common.actors import Role
from recall.reminders import calls as reminder_calls
from recall.reminders.calls import CallInput
from recall.web.auth import any_staff, roles
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint
from recall.web.reminders.schemas import (
    CallListArgs,
    CallOutcomeSchema,
    CallSchema,
    ReminderListArgs,
    ReminderSchema,
)

blp = Blueprint("reminders", __name__, description="Reminders and their delivery, and the front desk's calls")
front_desk = roles(Role.FRONTDESK, Role.MANAGER)


@blp.route("/reminders", methods=["GET"])
@any_staff
@blp.arguments(ReminderListArgs, location="query")
@blp.response(200, page_schema(ReminderSchema))
def list_reminders(args: dict[str, Any]) -> Any:
    """Every reminder by its planned send time (``from``/``to``), with what became of it."""
    return page_of(
        reminder_calls.browse_reminders(
            actor().clinic_id,
            booking_id=args.get("booking_id"),
            patient_id=args.get("patient_id"),
            status=args.get("status"),
            channel=args.get("channel"),
            send_from=args.get("from_"),
            send_to=args.get("to"),
        ),
        args,
    )


@blp.route("/reminders/<int:reminder_id>", methods=["GET"])
@any_staff
@blp.response(200, ReminderSchema)
def get_reminder(reminder_id: int) -> Any:
    return reminder_calls.get_reminder(session(), actor().clinic_id, reminder_id)


@blp.route("/reminder-calls", methods=["GET"])
@front_desk
@blp.arguments(CallListArgs, location="query")
@blp.response(200, page_schema(CallSchema))
def list_calls(args: dict[str, Any]) -> Any:
    """The calls the front desk is to make, soonest visit first (``state=done`` or ``all`` for the rest)."""
    now = clock().now()
    page = page_of(
        reminder_calls.list_calls(
            actor().clinic_id,
            now=now,
            state=args["state"],
            booking_id=args.get("booking_id"),
            patient_id=args.get("patient_id"),
        ),
        args,
    )
    return replace(page, items=reminder_calls.describe(session(), page.items, now))


@blp.route("/reminder-calls/<int:reminder_id>/outcome", methods=["POST"])
@front_desk
@blp.arguments(CallOutcomeSchema)
@blp.response(200, CallSchema)
def record_outcome(data: CallInput, reminder_id: int) -> Any:
    """Record how a call went. What the patient said (confirm, cancel, a new time, opt out) is applied to the
    booking in the same transaction; no answer, busy and voicemail keep the call on the list."""
    return reminder_calls.record_call(session(), clock(), actor(), reminder_id, data)
