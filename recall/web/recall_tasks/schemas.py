from __future__ import annotations

import marshmallow as ma

from recall.recall_tasks import CloseReason, TaskReason, TaskStatus
from recall.web.common import PageArgs

Id = ma.fields.Integer


class RecallTaskSchema(ma.Schema):
    id = Id()
    patient_id = Id()
    service_id = Id(allow_none=True)
    provider_id = Id(allow_none=True)
    origin_visit_id = Id(allow_none=True)
    origin_booking_id = Id(allow_none=True)
    reason = ma.fields.Enum(TaskReason, by_value=True)
    status = ma.fields.Enum(TaskStatus, by_value=True)
    follow_up_date = ma.fields.Date(allow_none=True)
    due_at = ma.fields.DateTime()
    created_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)
    closed_by_id = Id(allow_none=True)
    close_reason = ma.fields.Enum(CloseReason, by_value=True, allow_none=True)
    booking_id = Id(allow_none=True)


class TaskListArgs(PageArgs):
    status = ma.fields.Enum(TaskStatus, by_value=True)
    due_from = ma.fields.AwareDateTime()
    due_to = ma.fields.AwareDateTime()
    patient_id = Id()
    service_id = Id()
