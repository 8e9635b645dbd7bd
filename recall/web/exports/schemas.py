"""Query arguments of the exports."""

from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input


class PayrollArgs(Input):
    month = ma.fields.String(
        validate=ma.validate.Length(max=7),
        metadata={
            "description": "the pay period, a calendar month in the clinic's zone (YYYY-MM); by default the last "
            "complete month",
            "example": "2026-11",
        },
    )
