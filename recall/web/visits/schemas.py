from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.visits.visit import FollowUp, VisitStatus
from recall.visits.visits import CheckoutRequest, DeskBooking
from recall.web.bookings.schemas import BookingSchema, BookingTimeSchema
from recall.web.common import Day, Id, Input, Output, RangeArgs
from recall.web.recall_tasks.schemas import RecallTaskSchema


class VisitSchema(Output):
    id = Id()
    patient_id = Id()
    provider_id = Id(allow_none=True)
    service_id = Id(allow_none=True)
    booking_id = Id(allow_none=True)
    status = ma.fields.Enum(VisitStatus, by_value=True)
    checked_in_at = ma.fields.DateTime()
    checked_in_by_id = Id(allow_none=True, metadata={"description": "none: reported by the EHR (an import)"})
    checked_out_at = ma.fields.DateTime(allow_none=True)
    checked_out_by_id = Id(allow_none=True)
    follow_up = ma.fields.Enum(FollowUp, by_value=True, allow_none=True)
    follow_up_date = Day(allow_none=True)
    follow_up_booking_id = Id(allow_none=True)
    follow_up_note = ma.fields.String(allow_none=True)


class CheckInSchema(Input):
    patient_id = Id(required=True, strict=True)
    provider_id = Id(strict=True, load_default=None)
    service_id = Id(strict=True, load_default=None)
    booking_id = Id(
        strict=True,
        load_default=None,
        metadata={"description": "the appointment the patient came for; it is marked attended"},
    )


class DeskBookingSchema(BookingTimeSchema):
    @ma.post_load
    def _desk(self, data: dict[str, Any], **_kw: Any) -> DeskBooking:
        return DeskBooking(**data)


class CheckoutSchema(Input):
    follow_up = ma.fields.Enum(FollowUp, by_value=True, required=True)
    follow_up_date = Day(load_default=None, metadata={"description": "the recommended follow-up day"})
    follow_up_interval_days = Id(
        strict=True,
        load_default=None,
        validate=ma.validate.Range(min=1, max=3650),
        metadata={"description": "or: days after the visit; default from the service"},
    )
    booking = ma.fields.Nested(
        DeskBookingSchema, load_default=None, metadata={"description": "required when follow_up is 'booked'"}
    )
    note = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={"description": "operational remarks only; never a diagnosis"},
    )

    @ma.post_load
    def _request(self, data: dict[str, Any], **_kw: Any) -> CheckoutRequest:
        return CheckoutRequest(**data)


class CheckoutResultSchema(Output):
    visit = ma.fields.Nested(VisitSchema)
    booking = ma.fields.Nested(BookingSchema, allow_none=True)
    recall_task = ma.fields.Nested(RecallTaskSchema, allow_none=True)
    replayed = ma.fields.Boolean(metadata={"description": "true when this repeated an earlier identical checkout"})


class VisitListArgs(RangeArgs):
    status = ma.fields.Enum(VisitStatus, by_value=True)
    patient_id = Id()
