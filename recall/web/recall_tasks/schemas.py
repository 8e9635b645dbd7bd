from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.clinic.patients import Language
from recall.queue.attempts import AttemptChannel, AttemptInput, BookingDetails, Outcome
from recall.queue.claim_sheet import TaskCard
from recall.queue.tasks import CloseReason, TaskReason, TaskStatus
from recall.visits.booking import BookingStatus
from recall.web.bookings.schemas import BookingTimeSchema
from recall.web.common import (
    RANGE_RULE,
    Day,
    DayOrInstant,
    Id,
    Input,
    Instant,
    Output,
    PageArgs,
    RangeArgs,
    instant_range,
)


class RecallTaskSchema(Output):
    id = Id()
    patient_id = Id()
    service_id = Id(allow_none=True)
    provider_id = Id(allow_none=True)
    origin_visit_id = Id(allow_none=True)
    origin_booking_id = Id(allow_none=True)
    reason = ma.fields.Enum(TaskReason, by_value=True)
    status = ma.fields.Enum(TaskStatus, by_value=True)
    follow_up_date = Day(allow_none=True)
    due_at = ma.fields.DateTime()
    created_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)
    closed_by_id = Id(allow_none=True)
    close_reason = ma.fields.Enum(CloseReason, by_value=True, allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)
    booking_id = Id(allow_none=True)
    value_weight = ma.fields.Float()
    lease_holder_id = Id(allow_none=True)
    lease_expires_at = ma.fields.DateTime(allow_none=True)
    attempt_count = ma.fields.Integer()
    failed_attempts = ma.fields.Integer()
    reserved_for_id = Id(allow_none=True)
    reserved_until = ma.fields.DateTime(allow_none=True)


class TaskListArgs(PageArgs):
    status = ma.fields.Enum(TaskStatus, by_value=True)
    due_from = DayOrInstant(metadata={"description": "due at or after; " + RANGE_RULE})
    due_to = DayOrInstant(metadata={"description": "due before; " + RANGE_RULE})
    patient_id = Id()
    service_id = Id()
    assignee_id = Id(metadata={"description": "tasks leased to, or a callback reserved for, this staff member"})
    leased = ma.fields.Boolean(metadata={"description": "only tasks under an unexpired lease (true) or free (false)"})

    @ma.post_load
    def _instants(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        if data.get("due_from") is not None or data.get("due_to") is not None:
            data["due_from"], data["due_to"] = instant_range(
                data.get("due_from"), data.get("due_to"), names=("due_from", "due_to")
            )
        return data


class SurgeSchema(Output):
    active = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String())
    backlog_threshold = ma.fields.Integer(allow_none=True)
    overdue_days_threshold = ma.fields.Integer(allow_none=True)
    overdue_tasks_threshold = ma.fields.Integer(allow_none=True)


class NamedSchema(Output):
    id = Id()
    name = ma.fields.String()


class ClaimPatientSchema(Output):
    id = Id()
    full_name = ma.fields.String()
    phone = ma.fields.String(metadata={"description": "E.164"})
    language = ma.fields.Enum(Language, by_value=True)
    timezone = ma.fields.String(metadata={"description": "the patient's IANA zone, or the clinic's if unknown"})
    timezone_is_clinics = ma.fields.Boolean(metadata={"description": "the patient's zone is unknown"})
    local_time = ma.fields.DateTime(metadata={"description": "now, in that zone, with its offset"})
    opted_out = ma.fields.Boolean()
    phone_invalid = ma.fields.Boolean()


class ClaimBookingSchema(Output):
    id = Id()
    start_at = ma.fields.DateTime()
    end_at = ma.fields.DateTime()
    status = ma.fields.Enum(BookingStatus, by_value=True)
    provider = ma.fields.Nested(NamedSchema, allow_none=True)
    service = ma.fields.Nested(NamedSchema, allow_none=True)


class ClaimVisitSchema(Output):
    id = Id()
    checked_in_at = ma.fields.DateTime()
    checked_out_at = ma.fields.DateTime(allow_none=True)
    provider = ma.fields.Nested(NamedSchema, allow_none=True)
    service = ma.fields.Nested(NamedSchema, allow_none=True)
    follow_up = ma.fields.String(allow_none=True)
    follow_up_date = Day(allow_none=True)
    follow_up_note = ma.fields.String(allow_none=True)


class ClaimedTaskSchema(RecallTaskSchema):
    """A claimed task with what the call needs: where it came from, what to suggest, what the patient wrote."""

    origin_visit = ma.fields.Nested(
        ClaimVisitSchema, allow_none=True, metadata={"description": "the visit whose follow-up this win-back work is"}
    )
    origin_booking = ma.fields.Nested(
        ClaimBookingSchema, allow_none=True, metadata={"description": "the booking a reminder call or request is about"}
    )
    suggested_provider = ma.fields.Nested(NamedSchema, allow_none=True)
    suggested_service = ma.fields.Nested(NamedSchema, allow_none=True)
    request_text = ma.fields.String(
        allow_none=True, metadata={"description": "what the patient wrote back, for a patient's request"}
    )

    @ma.pre_dump
    def _card(self, card: TaskCard, **_kw: Any) -> dict[str, Any]:
        row = {name: getattr(card.task, name) for name in RecallTaskSchema._declared_fields}
        return {
            **row,
            "origin_visit": card.origin_visit,
            "origin_booking": card.origin_booking,
            "suggested_provider": card.suggested_provider,
            "suggested_service": card.suggested_service,
            "request_text": card.request_text,
        }


class _AttemptFields(Output):
    """What every view of a contact attempt shows."""

    id = Id()
    task_id = Id()
    staff_id = Id()
    channel = ma.fields.Enum(AttemptChannel, by_value=True)
    outcome = ma.fields.Enum(Outcome, by_value=True)
    ended_at = ma.fields.DateTime()
    duration_seconds = ma.fields.Integer()
    note = ma.fields.String(allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)
    callback_at = ma.fields.DateTime(allow_none=True)
    booking_id = Id(allow_none=True)


class ClaimAttemptSchema(_AttemptFields):
    staff_name = ma.fields.String()


class ClaimSchema(Output):
    task = ma.fields.Nested(
        RecallTaskSchema,
        allow_none=True,
        metadata={
            "description": "null: nothing is due that may be called now; else the task "
            "that came up first (also first in tasks)"
        },
    )
    tasks = ma.fields.List(
        ma.fields.Nested(ClaimedTaskSchema),
        metadata={
            "description": "every open task of the patient now leased to you, the first one first: one patient is "
            "one operator's, so settle each (log an attempt) or release them"
        },
    )
    patient = ma.fields.Nested(ClaimPatientSchema, allow_none=True)
    attempts = ma.fields.List(
        ma.fields.Nested(ClaimAttemptSchema),
        metadata={
            "description": "the patient's most recent contact attempts (up to 20), newest first, with their notes"
        },
    )
    upcoming_bookings = ma.fields.List(
        ma.fields.Nested(ClaimBookingSchema),
        metadata={"description": "the patient's active bookings ahead, soonest first (up to 10)"},
    )
    surge = ma.fields.Nested(SurgeSchema)
    closed_on_the_way = ma.fields.Integer(
        metadata={"description": "tasks that closed themselves because their patient had booked meanwhile"}
    )


class AttemptSchema(_AttemptFields):
    patient_id = Id()
    answered = ma.fields.Boolean()
    started_at = ma.fields.DateTime()


class AttemptBookingSchema(BookingTimeSchema):
    @ma.post_load
    def _details(self, data: dict[str, Any], **_kw: Any) -> BookingDetails:
        return BookingDetails(**data)


class AttemptCreateSchema(Input):
    outcome = ma.fields.Enum(
        Outcome,
        by_value=True,
        required=True,
        metadata={
            "description": "confirmed, cancelled, rescheduled and resolved end a service call (a reminder call or a "
            "patient's request) and act on the booking it is about"
        },
    )
    channel = ma.fields.Enum(AttemptChannel, by_value=True, load_default=AttemptChannel.PHONE)
    duration_seconds = ma.fields.Integer(strict=True, load_default=0, validate=ma.validate.Range(min=0, max=14400))
    note = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=1000),
        metadata={"description": "operational remarks only; never a diagnosis"},
    )
    decline_reason = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "required with outcome declined"},
    )
    callback_at = Instant(load_default=None, metadata={"description": "required with outcome callback_requested"})
    booking = ma.fields.Nested(
        AttemptBookingSchema,
        load_default=None,
        metadata={
            "description": "required with outcome booked (the booking to make) and rescheduled (the booking's new time)"
        },
    )

    @ma.post_load
    def _input(self, data: dict[str, Any], **_kw: Any) -> AttemptInput:
        return AttemptInput(**data)


class AttemptResultSchema(Output):
    attempt = ma.fields.Nested(AttemptSchema)
    task = ma.fields.Nested(RecallTaskSchema)
    booking_id = Id(allow_none=True)


class AttemptListArgs(RangeArgs):
    staff_id = Id()
