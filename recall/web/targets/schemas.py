"""Targets that rise: the manager's input, the targets and their progress."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import marshmallow as ma

from recall.queue.targets import KPIS, MAX_RISE_PERCENT, MAX_VALUE
from recall.web.common import Id, Input, Output, StrictFloat

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
KPI_LIST = "; ".join(f"{name}: {kpi.description}" for name, kpi in KPIS.items())


class Month(ma.fields.Field):
    """A calendar month as YYYY-MM; loads as its first day."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "type": "string",
            "pattern": MONTH_PATTERN,
            "example": "2026-03",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not re.fullmatch(MONTH_PATTERN, value):
            raise ma.ValidationError("must be a month as YYYY-MM")
        year, month = int(value[:4]), int(value[5:7])
        if not 2000 <= year <= 2100:
            raise ma.ValidationError("must be a month between 2000-01 and 2100-12")
        return date(year, month, 1)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.strftime("%Y-%m")


def _value(description: str, **kwargs: Any) -> StrictFloat:
    return StrictFloat(
        allow_nan=False,
        validate=ma.validate.Range(min=0, max=MAX_VALUE),
        metadata={"description": description},
        **kwargs,
    )


class TargetInputSchema(Input):
    kpi = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(list(KPIS)),
        metadata={"description": f"the KPI, as GET /recall-queue/kpis defines it. {KPI_LIST}"},
    )
    staff_id = Id(
        strict=True,
        allow_none=True,
        load_default=None,
        metadata={"description": "one operator; null (the default): the team total"},
    )
    start_value = _value("the target in the start month; a share (conversion, ...) in [0, 1]", required=True)
    start_month = Month(required=True, metadata={"description": "the first month the target is in force (YYYY-MM)"})
    rise_percent = StrictFloat(
        load_default=0.0,
        allow_nan=False,
        validate=ma.validate.Range(min=0, max=MAX_RISE_PERCENT),
        metadata={"description": "how much the target rises each month, compounded (5: +5 % a month)"},
    )
    cap = _value("the highest the target rises to; null: no cap", allow_none=True, load_default=None)


class TargetUpdateSchema(Input):
    kpi = ma.fields.String(validate=ma.validate.OneOf(list(KPIS)))
    staff_id = Id(strict=True, allow_none=True, metadata={"description": "one operator; null: the team total"})
    start_value = _value("the target in the start month")
    start_month = Month(metadata={"description": "YYYY-MM"})
    rise_percent = StrictFloat(allow_nan=False, validate=ma.validate.Range(min=0, max=MAX_RISE_PERCENT))
    cap = _value("null: no cap", allow_none=True)


class TargetSchema(Output):
    id = Id()
    kpi = ma.fields.String()
    scope = ma.fields.String(metadata={"description": "team or operator"})
    staff_id = Id(allow_none=True)
    start_value = ma.fields.Float()
    start_month = Month()
    rise_percent = ma.fields.Float()
    cap = ma.fields.Float(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProgressArgs(Input):
    month = Month(metadata={"description": "the month (YYYY-MM, the clinic's zone); by default this month"})


class TargetProgressSchema(Output):
    target = ma.fields.Nested(TargetSchema)
    staff_name = ma.fields.String(allow_none=True, metadata={"description": "null: the team"})
    month = Month()
    target_value = ma.fields.Float(
        allow_none=True, metadata={"description": "min(start_value * (1 + rise_percent/100)^months, cap); null: later"}
    )
    actual = ma.fields.Float(allow_none=True, metadata={"description": "the KPI so far this month; null: no data"})
    elapsed_share = ma.fields.Float(metadata={"description": "the share of the month's real time gone by"})
    expected_so_far = ma.fields.Float(
        allow_none=True, metadata={"description": "a count: target_value * elapsed_share; a rate: target_value"}
    )
    projected = ma.fields.Float(allow_none=True, metadata={"description": "a count at this pace by the month's end"})
    status = ma.fields.String(metadata={"description": "on_track, behind, no_data (a rate with nothing measured) "
                                        "or not_started (the target starts later)"})  # fmt: skip
    on_track = ma.fields.Boolean(allow_none=True)


class TargetProgressListSchema(Output):
    month = Month()
    timezone = ma.fields.String()
    elapsed_share = ma.fields.Float()
    on_track = ma.fields.Integer(metadata={"description": "how many targets are on track"})
    behind = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(TargetProgressSchema))
