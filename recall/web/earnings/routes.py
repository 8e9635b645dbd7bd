"""Earnings: the caller's own at any moment, the team's, the ledger, and a what-if for managers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from recall.clinic.clinics import get_clinic
from recall.clinic.staff import get_staff
from recall.common.errors import Forbidden
from recall.credit import earnings
from recall.credit.ledger import CreditEntry
from recall.credit.payplan import check_rates
from recall.web.auth import any_staff, manager_only
from recall.web.bookings.schemas import CreditEntrySchema
from recall.web.common import DayRangeArgs, actor, clock, instant_range, page_of, page_schema, session
from recall.web.contract import Blueprint, may_answer
from recall.web.earnings.schemas import (
    EarningsSchema,
    LedgerArgs,
    TeamEarningsSchema,
    WhatIfInputSchema,
    WhatIfSchema,
)

blp = Blueprint("earnings", __name__, description="Credit earned, pending and voided")


def _earnings_of(staff_id: int, args: dict[str, Any]) -> dict[str, Any]:
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = earnings.period(clinic, clock().now(), args.get("from_"), args.get("to"))
    result = earnings.staff_earnings(session(), staff_id, start, end)
    return {**asdict(result), "currency": clinic.currency}


@blp.route("/earnings/me", methods=["GET"])
@any_staff
@blp.arguments(DayRangeArgs, location="query")
@blp.response(200, EarningsSchema)
def my_earnings(args: dict[str, Any]) -> Any:
    """The caller's earnings: by default the current pay period (calendar month in the clinic's zone)."""
    return _earnings_of(actor().member_id, args)


@blp.route("/earnings/staff/<int:staff_id>", methods=["GET"])
@may_answer(403)
@any_staff
@blp.arguments(DayRangeArgs, location="query")
@blp.response(200, EarningsSchema)
def staff_earnings(args: dict[str, Any], staff_id: int) -> Any:
    if staff_id != actor().staff_id and not actor().is_manager:
        raise Forbidden("only a manager may see another staff member's earnings")
    get_staff(session(), actor().clinic_id, staff_id)
    return _earnings_of(staff_id, args)


@blp.route("/earnings/team", methods=["GET"])
@manager_only
@blp.arguments(DayRangeArgs, location="query")
@blp.response(200, TeamEarningsSchema)
def team_earnings(args: dict[str, Any]) -> Any:
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = earnings.period(clinic, clock().now(), args.get("from_"), args.get("to"))
    return {
        "start": start,
        "end": end,
        "currency": clinic.currency,
        "staff": earnings.team_earnings(session(), clinic.id, start, end),
    }


@blp.route("/earnings/what-if", methods=["POST"])
@may_answer(never=(409,))
@manager_only
@blp.arguments(WhatIfInputSchema)
@blp.response(200, WhatIfSchema)
def what_if(data: dict[str, Any]) -> Any:
    """What the realized bookings of a past range would have paid under a proposed plan."""
    clinic = get_clinic(session(), actor().clinic_id)
    start, end = earnings.period(clinic, clock().now(), data["from_"], data["to"])
    check_rates(session(), clinic.id, data["plan"], prefix="plan.service_rates")
    result = earnings.what_if(session(), clinic.id, start, end, data["plan"])
    return {
        "start": result.start,
        "end": result.end,
        "currency": clinic.currency,
        "actual_cents": result.actual_cents,
        "proposed_cents": result.proposed_cents,
        "rows": [{**asdict(r), "difference_cents": r.difference_cents} for r in result.rows],
    }


@blp.route("/ledger", methods=["GET"])
@may_answer(403)
@any_staff
@blp.arguments(LedgerArgs, location="query")
@blp.response(200, page_schema(CreditEntrySchema))
def ledger(args: dict[str, Any]) -> Any:
    """Ledger entries, oldest first. Managers see the clinic's; others only their own."""
    staff_id = args.get("staff_id")
    if not actor().is_manager:
        if staff_id is not None and staff_id != actor().staff_id:
            raise Forbidden("only a manager may see another staff member's ledger")
        staff_id = actor().staff_id
    stmt = sa.select(CreditEntry).where(CreditEntry.clinic_id == actor().clinic_id).order_by(CreditEntry.id)
    if staff_id is not None:
        stmt = stmt.where(CreditEntry.staff_id == staff_id)
    start, end = args.get("from_"), args.get("to")
    instant_range(start, end)  # the same order rule as every list
    if isinstance(start, datetime):
        stmt = stmt.where(CreditEntry.occurred_at >= start)
    elif start is not None:
        stmt = stmt.where(CreditEntry.local_day >= start)
    if isinstance(end, datetime):
        stmt = stmt.where(CreditEntry.occurred_at < end)
    elif end is not None:
        stmt = stmt.where(CreditEntry.local_day <= end)
    if args.get("kind"):
        stmt = stmt.where(CreditEntry.kind == args["kind"])
    return page_of(stmt, args)
