from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.recall_tasks import CloseReason, TaskReason, TaskStatus
from recall.web.common import Day, Id, Input, Instant, PageArgs



class RecallTaskSchema(Input):
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
    booking_id = Id(allow_none=True)


class TaskListArgs(PageArgs):
    status = ma.fields.Enum(TaskStatus, by_value=True)
    due_from = Instant()
    due_to = Instant()
    patient_id = Id()
    service_id = Id()

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("due_from") and data.get("due_to") and data["due_to"] <= data["due_from"]:
            raise ma.ValidationError("must be after due_from", field_name="due_to")
