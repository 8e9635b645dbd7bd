from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.credit.ledger import CreditKind
from recall.visits.booking import BookingStatus, Channel, Source
from recall.visits.bookings import BookingRequest
from recall.web.common import Day, Id, Input, Instant, Output, RangeArgs, StaffRole


class BookingSchema(Output):
    id = Id()
    patient_id = Id()
    provider_id = Id(allow_none=True)
    service_id = Id(allow_none=True)
    start_at = ma.fields.DateTime()
    end_at = ma.fields.DateTime()
    status = ma.fields.Enum(BookingStatus, by_value=True)
    channel = ma.fields.Enum(Channel, by_value=True)
    source = ma.fields.Enum(Source, by_value=True)
    source_visit_id = Id(allow_none=True)
    recall_task_id = Id(allow_none=True)
    follow_up_of_visit_id = Id(allow_none=True)
    created_by_id = Id(allow_none=True)
    credited_staff_id = Id(allow_none=True)
    credited_role = StaffRole(allow_none=True)
    note = ma.fields.String(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class BookingTimeSchema(Input):
    start_at = Instant(required=True)
    end_at = Instant(load_default=None, metadata={"description": "default: the service's duration"})
    provider_id = Id(strict=True, load_default=None)
    service_id = Id(strict=True, load_default=None)
    note = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={"description": "operational remarks only; never a diagnosis"},
    )


class BookingCreateSchema(BookingTimeSchema):
    patient_id = Id(required=True, strict=True)
    channel = ma.fields.Enum(Channel, by_value=True, required=True)
    source = ma.fields.Enum(Source, by_value=True, load_default=Source.NEW_REQUEST)
    recall_task_id = Id(strict=True, load_default=None)
    on_behalf_of_staff_id = Id(
        strict=True,
        load_default=None,
        metadata={"description": "managers only: the staff member who earns the booking"},
    )

    @ma.post_load
    def _request(self, data: dict[str, Any], **_kw: Any) -> BookingRequest:
        return BookingRequest(**data)


class MoveSchema(Input):
    start_at = Instant(required=True)
    end_at = Instant(load_default=None, metadata={"description": "default: keep the duration"})
    provider_id = Id(strict=True, load_default=None)


class CancelSchema(Input):
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


class BookingListArgs(RangeArgs):
    status = ma.fields.List(ma.fields.Enum(BookingStatus, by_value=True))
    patient_id = Id()
    provider_id = Id()
    credited_staff_id = Id()
    channel = ma.fields.Enum(Channel, by_value=True)


class CreditEntrySchema(Output):
    id = Id()
    booking_id = Id()
    staff_id = Id()
    role = StaffRole()
    service_id = Id(allow_none=True)
    is_recall = ma.fields.Boolean()
    kind = ma.fields.Enum(CreditKind, by_value=True)
    amount_cents = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    local_day = Day()
