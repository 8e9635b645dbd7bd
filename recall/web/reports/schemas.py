"""Query arguments and answers of the managers' reports: the recall funnel and time to answer."""

from __future__ import annotations

import marshmallow as ma

from recall.queue.tasks import SERVICE_REASONS, TaskReason
from recall.web.common import Day, DayOrInstant, Id, Input, Output

WIN_BACK_REASONS = [r.value for r in TaskReason if r not in SERVICE_REASONS]


class ReportArgs(Input):
    from_ = DayOrInstant(data_key="from")
    to = DayOrInstant()
    group = ma.fields.String(
        load_default="day",
        validate=ma.validate.OneOf(["day", "week"]),
        metadata={"description": "local days, or ISO weeks starting on Monday, in the clinic's zone"},
    )
    staff_id = Id(metadata={"description": "only this operator's work (the total rows are then of it alone)"})
    service_id = Id(metadata={"description": "only tasks suggesting this service"})


class FunnelArgs(ReportArgs):
    reason = ma.fields.String(
        validate=ma.validate.OneOf(WIN_BACK_REASONS),
        metadata={"description": "only tasks opened for this reason (service calls are never in the funnel)"},
    )


class AnswerTimeArgs(ReportArgs):
    reason = ma.fields.String(
        validate=ma.validate.OneOf([r.value for r in TaskReason]),
        metadata={"description": "only tasks opened for this reason"},
    )


def _share(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": f"{description}; null when it is 0"})


def _days(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": f"days {description}; null with no task"})


def _seconds(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": f"seconds {description}; null with none"})


class FunnelRowSchema(Output):
    period_start = Day()
    period_end = Day(metadata={"description": "the period's last day, inclusive"})
    total = ma.fields.Boolean(metadata={"description": "the period's total over every reason, service and operator"})
    reason = ma.fields.String(allow_none=True, metadata={"description": "why the task was opened; null on a total"})
    service_id = Id(allow_none=True, metadata={"description": "the task's suggested service; null: none, or a total"})
    service_name = ma.fields.String(allow_none=True)
    staff_id = Id(
        allow_none=True,
        metadata={"description": "the operator of the task's last attempt (on a won task, who booked it); null: "
                  "nobody has tried it yet, or a total"},
    )  # fmt: skip
    staff_name = ma.fields.String(allow_none=True)
    opened = ma.fields.Integer(metadata={"description": "win-back tasks opened in the period: the cohort"})
    contacted = ma.fields.Integer(metadata={"description": "of those, reached: an answered attempt"})
    booked = ma.fields.Integer(metadata={"description": "of those, won from the queue (closed as booked)"})
    attended = ma.fields.Integer(metadata={"description": "of those, the booking made from it attended"})
    booked_no_show = ma.fields.Integer()
    booked_cancelled = ma.fields.Integer()
    booked_pending = ma.fields.Integer(metadata={"description": "booked, the visit still ahead; not in the share"})
    booked_elsewhere = ma.fields.Integer(
        metadata={"description": "won because the patient booked another way: beside the chain, not in it"}
    )
    contact_share = _share("contacted / opened")
    booking_share = _share("booked / contacted")
    attendance_share = _share("attended / (attended + booked_no_show + booked_cancelled)")
    days_to_contact_median = _days("from opening to the first answered attempt, median")
    days_to_contact_p90 = _days("from opening to the first answered attempt, 90th percentile")
    days_to_booking_median = _days("from the first answered attempt to the booking, median")
    days_to_booking_p90 = _days("from the first answered attempt to the booking, 90th percentile")
    days_to_visit_median = _days("from the booking to the attended visit's start, median")
    days_to_visit_p90 = _days("from the booking to the attended visit's start, 90th percentile")


class AnswerTimeRowSchema(Output):
    period_start = Day()
    period_end = Day(metadata={"description": "the period's last day, inclusive"})
    staff_id = Id(allow_none=True, metadata={"description": "the operator who made the first attempt (a callback: "
                                                            "who took the request); null: the team"})  # fmt: skip
    staff_name = ma.fields.String(allow_none=True)
    winback_tasks = ma.fields.Integer(metadata={"description": "win-back tasks first tried in the period"})
    winback_wait_median = _seconds("from the task's due time to its first attempt, median")
    winback_wait_p90 = _seconds("from the task's due time to its first attempt, 90th percentile")
    requests = ma.fields.Integer(metadata={"description": "patients' requests (SMS reply, key 3) first called"})
    request_wait_median = _seconds("from the patient's request to its first attempt, median")
    request_wait_p90 = _seconds("from the patient's request to its first attempt, 90th percentile")
    callbacks = ma.fields.Integer(metadata={"description": "callbacks due in the period, on time or late"})
    callbacks_on_time = ma.fields.Integer(
        metadata={"description": "the task's next attempt came by the callback time plus the hold window"}
    )
    callbacks_late = ma.fields.Integer(metadata={"description": "after the window, or not at all once it passed"})
    callbacks_pending = ma.fields.Integer(metadata={"description": "window still open, no attempt yet; not counted"})
    callback_on_time_share = _share("callbacks_on_time / callbacks")
    callback_wait_median = _seconds("from the callback time to the next attempt (0 if early), median")
    callback_wait_p90 = _seconds("from the callback time to the next attempt (0 if early), 90th percentile")


class _Report(Output):
    start = ma.fields.DateTime(data_key="from")
    end = ma.fields.DateTime(data_key="to", metadata={"description": "exclusive"})
    group = ma.fields.String()
    timezone = ma.fields.String()


class FunnelSchema(_Report):
    rows = ma.fields.List(ma.fields.Nested(FunnelRowSchema))


class AnswerTimesSchema(_Report):
    rows = ma.fields.List(ma.fields.Nested(AnswerTimeRowSchema))
