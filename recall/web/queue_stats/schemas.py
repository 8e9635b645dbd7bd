"""Query arguments and answers of the queue statistics: health, team KPIs and the staffing forecast."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.queue.staffing import LIMITS
from recall.web.common import Day, DayOrInstant, Id, Input, Output


def _in(name: str, **kwargs: Any) -> ma.validate.Range:
    low, high = LIMITS[name]
    return ma.validate.Range(min=low, max=high, **kwargs)


class KpiArgs(Input):
    from_ = DayOrInstant(data_key="from")
    to = DayOrInstant()
    group = ma.fields.String(
        load_default="day",
        validate=ma.validate.OneOf(["day", "week"]),
        metadata={"description": "local days, or ISO weeks starting on Monday"},
    )
    staff_id = Id(metadata={"description": "one operator's rows (the team rows stay)"})


class StaffingArgs(Input):
    target_days = ma.fields.Integer(
        load_default=5,
        validate=_in("target_days"),
        metadata={"description": "clear the work due within this many days"},
    )
    hours_per_day = ma.fields.Float(
        load_default=7.0, validate=_in("hours_per_day"), metadata={"description": "an operator's queue hours per day"}
    )
    occupancy = ma.fields.Float(
        load_default=0.85,
        validate=_in("occupancy"),
        metadata={"description": "the share of those hours spent on calls and wrap-up"},
    )
    lookback_days = ma.fields.Integer(
        load_default=28,
        validate=_in("lookback_days"),
        metadata={"description": "the history the rates are measured over"},
    )


class QueueCountsSchema(Output):
    open = ma.fields.Integer()
    not_yet_due = ma.fields.Integer()
    due_now = ma.fields.Integer()
    overdue_under_1_day = ma.fields.Integer()
    overdue_1_to_7_days = ma.fields.Integer()
    overdue_7_to_30_days = ma.fields.Integer()
    overdue_over_30_days = ma.fields.Integer()
    leased = ma.fields.Integer(metadata={"description": "open, with a lease that has not expired"})
    callbacks = ma.fields.Integer(metadata={"description": "open, reserved for an operator until a future time"})
    parked = ma.fields.Integer(metadata={"description": "waiting for a corrected phone number"})
    unreachable = ma.fields.Integer(metadata={"description": "closed as unreachable since unreachable_since"})


class QueueServiceCountsSchema(QueueCountsSchema):
    service_id = Id(allow_none=True, metadata={"description": "null: tasks without a service"})
    service_name = ma.fields.String()


class QueueSurgeSchema(Output):
    active = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String())


class QueueHealthSchema(Output):
    now = ma.fields.DateTime()
    unreachable_since = ma.fields.DateTime()
    totals = ma.fields.Nested(QueueCountsSchema)
    services = ma.fields.List(ma.fields.Nested(QueueServiceCountsSchema))
    surge = ma.fields.Nested(QueueSurgeSchema)


def _ratio(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": f"{description}; null when it is 0"})


class KpiRowSchema(Output):
    period_start = Day()
    period_end = Day(metadata={"description": "the period's last day, inclusive"})
    staff_id = Id(allow_none=True, metadata={"description": "null: the team total"})
    staff_name = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    contacts = ma.fields.Integer(metadata={"description": "answered attempts"})
    contact_rate = _ratio("contacts / attempts")
    refusals = ma.fields.Integer(metadata={"description": "declined attempts"})
    bookings = ma.fields.Integer(metadata={"description": "attempts that booked"})
    working_seconds = ma.fields.Integer(
        metadata={
            "description": "working time: the operator's attempts form stretches, a gap of more than 30 minutes "
            "between the latest end so far and the next start ends one; a stretch's span, first start to last end, "
            "is working time"
        }
    )
    attempts_per_hour = _ratio("attempts / working hours")
    contacts_per_hour = _ratio("contacts (answered attempts) / working hours: patients reached per hour of work")
    handle_seconds = ma.fields.Integer(metadata={"description": "the attempts' own durations as logged, summed"})
    avg_handle_seconds = _ratio("handle time: handle_seconds / attempts")
    wrap_up_seconds = ma.fields.Integer(
        metadata={"description": "the idle gaps between attempts inside a stretch (never one over 30 minutes)"}
    )
    wrap_up_gaps = ma.fields.Integer(metadata={"description": "how many such gaps"})
    avg_wrap_up_seconds = _ratio("wrap-up, the time between contacts: wrap_up_seconds / wrap_up_gaps")
    tasks_won = ma.fields.Integer()
    tasks_closed = ma.fields.Integer(metadata={"description": "won, declined, unreachable or opted out"})
    closed_declined = ma.fields.Integer()
    closed_unreachable = ma.fields.Integer()
    closed_opted_out = ma.fields.Integer()
    conversion = _ratio("tasks_won / tasks_closed")
    first_contact_wins = ma.fields.Integer()
    first_contact_resolution = _ratio("first_contact_wins / tasks_won")
    credited_bookings = ma.fields.Integer(metadata={"description": "credited to the operator, by any path"})
    bookings_attended = ma.fields.Integer()
    bookings_no_show = ma.fields.Integer()
    bookings_cancelled = ma.fields.Integer()
    bookings_pending = ma.fields.Integer(metadata={"description": "no outcome yet; not in realized_rate"})
    bookings_with_outcome = ma.fields.Integer()
    realized_rate = _ratio("bookings_attended / bookings_with_outcome")


class TeamKpisSchema(Output):
    start = ma.fields.DateTime(data_key="from")
    end = ma.fields.DateTime(data_key="to", metadata={"description": "exclusive"})
    group = ma.fields.String()
    timezone = ma.fields.String()
    rows = ma.fields.List(ma.fields.Nested(KpiRowSchema))


class ActiveOperatorSchema(Output):
    staff_id = Id()
    name = ma.fields.String()
    attempts = ma.fields.Integer()
    working_hours = ma.fields.Float()


class StaffingForecastSchema(Output):
    now = ma.fields.DateTime()
    target_days = ma.fields.Integer()
    hours_per_day = ma.fields.Float()
    occupancy = ma.fields.Float()
    lookback_days = ma.fields.Integer()
    due_now = ma.fields.Integer()
    due_in_window = ma.fields.Integer()
    backlog_tasks = ma.fields.Integer()
    created_in_lookback = ma.fields.Integer()
    incoming_per_day = ma.fields.Float()
    incoming_tasks = ma.fields.Float()
    work_tasks = ma.fields.Float()
    lookback_attempts = ma.fields.Integer()
    lookback_tasks_closed = ma.fields.Integer()
    lookback_tasks_won = ma.fields.Integer()
    attempts_per_task = ma.fields.Float()
    attempts_per_win = ma.fields.Float(allow_none=True)
    handle_seconds = ma.fields.Float()
    wrap_up_seconds = ma.fields.Float()
    defaults_used = ma.fields.List(ma.fields.String(), metadata={"description": "figures with no history behind"})
    total_attempts = ma.fields.Float()
    seconds_per_attempt = ma.fields.Float()
    workload_hours = ma.fields.Float()
    hours_per_operator = ma.fields.Float()
    operators_needed = ma.fields.Integer()
    operators_active = ma.fields.Integer()
    active_operators = ma.fields.List(ma.fields.Nested(ActiveOperatorSchema))
