from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.credit.ledger import CreditKind
from recall.web.clinic.schemas import PayPlanInputSchema
from recall.web.common import Day, DayOrInstant, Id, Input, Output, PageArgs, StaffRole


class _Totals(Output):
    booked_cents = ma.fields.Integer()
    booked_count = ma.fields.Integer()
    earned_cents = ma.fields.Integer()
    earned_count = ma.fields.Integer()
    voided_cents = ma.fields.Integer()
    voided_count = ma.fields.Integer()


class DaySchema(_Totals):
    day = Day()


class EarningsSchema(_Totals):
    staff_id = ma.fields.Integer()
    start = Day(data_key="from")
    end = Day(data_key="to")
    currency = ma.fields.String()
    pending_cents = ma.fields.Integer(metadata={"description": "still pending at the end of the range"})
    pending_count = ma.fields.Integer()
    days = ma.fields.List(ma.fields.Nested(DaySchema))


class StaffSummarySchema(_Totals):
    staff_id = ma.fields.Integer()
    name = ma.fields.String()
    role = StaffRole()
    pending_cents = ma.fields.Integer()
    pending_count = ma.fields.Integer()


class TeamEarningsSchema(Output):
    start = Day(data_key="from")
    end = Day(data_key="to")
    currency = ma.fields.String()
    staff = ma.fields.List(ma.fields.Nested(StaffSummarySchema))


class WhatIfInputSchema(Input):
    from_ = Day(data_key="from", required=True)
    to = Day(required=True)
    plan = ma.fields.Nested(PayPlanInputSchema, required=True)

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ma.ValidationError("must not be before from", field_name="to")


class WhatIfRowSchema(Output):
    staff_id = ma.fields.Integer()
    name = ma.fields.String()
    role = StaffRole()
    realized_count = ma.fields.Integer()
    actual_cents = ma.fields.Integer()
    proposed_cents = ma.fields.Integer()
    difference_cents = ma.fields.Integer()


class WhatIfSchema(Output):
    start = Day(data_key="from")
    end = Day(data_key="to")
    currency = ma.fields.String()
    actual_cents = ma.fields.Integer()
    proposed_cents = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(WhatIfRowSchema))


class LedgerArgs(PageArgs):
    """A day bound reads the entry's local day (the day its earnings count on); an instant, when it occurred."""

    from_ = DayOrInstant(data_key="from")
    to = DayOrInstant()
    staff_id = Id()
    kind = ma.fields.Enum(CreditKind, by_value=True)
