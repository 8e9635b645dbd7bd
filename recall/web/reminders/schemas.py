from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.clinic.patients import Language
from recall.reminders.calls import MAX_NOTE, RECORDABLE, CallInput, CallState
from recall.reminders.planning import Channel, Fallback
from recall.reminders.reminders import CallOutcome, ReminderStatus
from recall.visits.booking import BookingStatus
from recall.web.common import Id, Input, Instant, Output, PageArgs, RangeArgs


class ReminderSchema(Output):
    """A reminder and its delivery state. The message text is not stored, so it is not shown."""

    id = Id()
    booking_id = Id()
    patient_id = Id()
    channel = ma.fields.Enum(Channel, by_value=True)
    status = ma.fields.Enum(ReminderStatus, by_value=True)
    send_at = ma.fields.DateTime(metadata={"description": "as planned"})
    due_at = ma.fields.DateTime(metadata={"description": "when a worker may take it: later after a retry"})
    sent_at = ma.fields.DateTime(allow_none=True)
    attempts = ma.fields.Integer()
    provider_sid = ma.fields.String(allow_none=True, metadata={"description": "Twilio's SID of the message or call"})
    provider_status = ma.fields.String(allow_none=True)
    error_code = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "why it ended: skipped (e.g. outside_calling_hours: due when the patient's hours were "
            "closed and they open only after the visit), failed, cancelled; for a call also answered, "
            "voicemail or machine"
        },
    )
    moved_reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "why it does not go out as planned: outside_calling_hours (it waits for the patient's hours "
            "to open: due_at) or surge (a routine human call moved to an automated channel)"
        },
    )
    planned_channel = ma.fields.Enum(
        Channel,
        by_value=True,
        allow_none=True,
        metadata={"description": "with moved_reason surge: the channel the policy planned"},
    )
    fallback = ma.fields.Enum(Fallback, by_value=True)
    fallback_of_id = Id(allow_none=True)
    policy_version = ma.fields.Integer()
    offset_minutes = ma.fields.Integer()
    task_id = Id(allow_none=True, metadata={"description": "an operator's call: its task in the recall queue"})
    call_outcome = ma.fields.Enum(CallOutcome, by_value=True, allow_none=True)
    call_attempts = ma.fields.Integer()
    called_by_id = Id(allow_none=True)
    called_at = ma.fields.DateTime(allow_none=True)
    handled_at = ma.fields.DateTime(allow_none=True)


class ReminderListArgs(RangeArgs):
    """``from`` and ``to`` bound the planned send time."""

    booking_id = Id()
    patient_id = Id()
    status = ma.fields.Enum(ReminderStatus, by_value=True)
    channel = ma.fields.Enum(Channel, by_value=True)


class CallBookingSchema(Output):
    id = Id()
    start_at = ma.fields.DateTime()
    end_at = ma.fields.DateTime()
    status = ma.fields.Enum(BookingStatus, by_value=True)
    provider_id = Id(allow_none=True)
    service_id = Id(allow_none=True)


class CallPatientSchema(Output):
    id = Id()
    full_name = ma.fields.String()
    phone = ma.fields.String(attribute="phone_e164", metadata={"description": "E.164"})
    phone_invalid = ma.fields.Boolean(metadata={"description": "an earlier call or message found the number wrong"})
    language = ma.fields.Enum(Language, by_value=True)
    timezone = ma.fields.String(allow_none=True)


class CallSchema(Output):
    """A call on the front desk's list: whom to call about which visit, and how the tries went."""

    id = Id(attribute="reminder.id", metadata={"description": "the reminder's id"})
    booking = ma.fields.Nested(CallBookingSchema)
    patient = ma.fields.Nested(CallPatientSchema)
    open = ma.fields.Boolean(
        metadata={
            "description": "still to be made: not done, the visit can still happen, and the patient has not opted out"
        }
    )
    offset_minutes = ma.fields.Integer(attribute="reminder.offset_minutes")
    send_at = ma.fields.DateTime(attribute="reminder.send_at", metadata={"description": "when the call fell due"})
    call_attempts = ma.fields.Integer(attribute="reminder.call_attempts")
    call_outcome = ma.fields.Enum(
        CallOutcome,
        by_value=True,
        allow_none=True,
        attribute="reminder.call_outcome",
        metadata={"description": "how the last try went"},
    )
    called_by_id = Id(allow_none=True, attribute="reminder.called_by_id")
    called_at = ma.fields.DateTime(allow_none=True, attribute="reminder.called_at")
    handled_at = ma.fields.DateTime(
        allow_none=True,
        attribute="reminder.handled_at",
        metadata={"description": "when the call was done; null while it is to be tried"},
    )
    call_note = ma.fields.String(allow_none=True, attribute="reminder.call_note")


class CallListArgs(PageArgs):
    state = ma.fields.Enum(
        CallState,
        by_value=True,
        load_default=CallState.OPEN,
        metadata={
            "description": "open: still to be made (the default); done: finished, or "
            "about a visit that can no longer happen; all"
        },
    )
    booking_id = Id()
    patient_id = Id()


class CallOutcomeSchema(Input):
    outcome = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([o.value for o in RECORDABLE]),
        metadata={"description": "no_answer, busy and voicemail keep the call on the list"},
    )
    note = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=MAX_NOTE),
        metadata={
            "description": "operational remarks only; never a diagnosis. Replaces the "
            "call's note; an empty note clears it"
        },
    )
    start_at = Instant(load_default=None, metadata={"description": "with outcome rescheduled: the new time"})
    end_at = Instant(load_default=None, metadata={"description": "with outcome rescheduled; default: keep the length"})
    provider_id = Id(strict=True, load_default=None, metadata={"description": "with outcome rescheduled"})

    @ma.post_load
    def _input(self, data: dict[str, Any], **_kw: Any) -> CallInput:
        return CallInput(**{**data, "outcome": CallOutcome(data["outcome"])})
