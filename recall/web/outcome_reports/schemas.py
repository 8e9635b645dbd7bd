"""Query arguments and answers of the no-show report."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.reminders.no_shows import Group
from recall.web.common import Day, Input, Output


class NoShowArgs(Input):
    from_ = Day(
        data_key="from",
        metadata={
            "description": "a day (YYYY-MM-DD) in the clinic's time zone, included: the first day of visits; by "
            "default 30 days before yesterday"
        },
    )
    to = Day(
        metadata={
            "description": "a day (YYYY-MM-DD) in the clinic's time zone, included: the last day of visits; by "
            "default yesterday"
        }
    )


def group_row(g: Group) -> dict[str, Any]:
    """One group as the answer's and the CSV's row."""
    ci, test = g.interval, g.test
    return {
        "section": g.section,
        "group": g.name,
        "channel": g.channel,
        "offset_minutes": g.offset_minutes,
        "bookings": g.bookings,
        "attended": g.attended,
        "no_shows": g.no_shows,
        "cancelled": g.cancelled,
        "no_show_rate": g.no_show_rate,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        "cancellation_rate": g.cancellation_rate,
        "difference": test.difference if test else None,
        "z": test.z if test else None,
        "p_value": test.p_value if test else None,
        "significant": test.significant if test else None,
        "intervals_overlap": g.overlap,
    }


ROW_FIELDS = tuple(group_row(Group("arm", "x")))


def _share(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": f"{description}; null when there is none"})


class NoShowGroupSchema(Output):
    section = ma.fields.String(metadata={"description": "arm, channel or step"})
    group = ma.fields.String(
        metadata={
            "description": "arm: reminded, held_out (with a holdout) or not_reminded (without); channel: sms, "
            "voice, operator_call, frontdesk_call; step: <channel>@<minutes before the visit>"
        }
    )
    channel = ma.fields.String(allow_none=True)
    offset_minutes = ma.fields.Integer(allow_none=True, metadata={"description": "a step's minutes before the visit"})
    bookings = ma.fields.Integer(metadata={"description": "bookings with an outcome: attended + no_shows"})
    attended = ma.fields.Integer()
    no_shows = ma.fields.Integer()
    cancelled = ma.fields.Integer(metadata={"description": "cancelled bookings: not in the rate, shown beside it"})
    no_show_rate = _share("no_shows / bookings")
    ci_low = _share("the Wilson 95 % interval's lower bound of no_show_rate")
    ci_high = _share("its upper bound")
    cancellation_rate = _share("cancelled / (bookings + cancelled)")
    difference = _share("no_show_rate minus the control's (held_out or not_reminded); null for the control")
    z = _share("the pooled two-proportion z statistic against the control")
    p_value = _share("its two-sided p-value")
    significant = ma.fields.Boolean(allow_none=True, metadata={"description": "p_value < 0.05"})
    intervals_overlap = ma.fields.Boolean(allow_none=True, metadata={"description": "with the control's interval"})


class NoShowReportSchema(Output):
    start = ma.fields.DateTime(data_key="from")
    end = ma.fields.DateTime(data_key="to", metadata={"description": "exclusive"})
    timezone = ma.fields.String()
    mode = ma.fields.String(
        metadata={"description": "holdout (reminded against held-out bookings) or observational (no holdout)"}
    )
    causal = ma.fields.Boolean(metadata={"description": "true only in holdout mode, for the arms' comparison"})
    holdout_percent = ma.fields.Integer(metadata={"description": "the clinic's share held out now"})
    verdict = ma.fields.String(metadata={"description": "significant, not_significant (not yet) or no_data"})
    statement = ma.fields.String(metadata={"description": "the comparison in one sentence (English)"})
    outside_holdout = ma.fields.Integer(
        metadata={"description": "bookings with an outcome planned while no holdout was on: in no arm"}
    )
    arms = ma.fields.List(ma.fields.Nested(NoShowGroupSchema), metadata={"description": "reminded, then the control"})
    channels = ma.fields.List(ma.fields.Nested(NoShowGroupSchema))
    steps = ma.fields.List(ma.fields.Nested(NoShowGroupSchema))
