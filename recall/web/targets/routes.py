"""Targets that rise (recall.queue.targets): the manager sets them, everyone's progress for the manager, and an
operator's own."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.queue import target_progress, targets
from recall.web.auth import manager_only, roles
from recall.web.common import actor, clock, session
from recall.web.contract import Blueprint
from recall.web.targets.schemas import (
    ProgressArgs,
    TargetInputSchema,
    TargetProgressListSchema,
    TargetSchema,
    TargetUpdateSchema,
)

blp = Blueprint("targets", __name__, description="Targets per KPI that start modest and rise each month")


@blp.route("/targets", methods=["GET"])
@manager_only
@blp.response(200, TargetSchema(many=True))
def list_targets() -> Any:
    """The clinic's targets: the team's first, then each operator's."""
    return targets.list_targets(session(), actor().clinic_id)


@blp.route("/targets", methods=["POST"])
@manager_only
@blp.arguments(TargetInputSchema)
@blp.response(201, TargetSchema)
def create_target(data: dict[str, Any]) -> Any:
    """Set a target for the team or one operator; one per KPI and scope (409 for a second)."""
    return targets.create_target(session(), clock(), actor(), data)


@blp.route("/targets/<int:target_id>", methods=["GET"])
@manager_only
@blp.response(200, TargetSchema)
def get_target(target_id: int) -> Any:
    return targets.get_target(session(), actor().clinic_id, target_id)


@blp.route("/targets/<int:target_id>", methods=["PATCH"])
@manager_only
@blp.arguments(TargetUpdateSchema)
@blp.response(200, TargetSchema)
def update_target(changes: dict[str, Any], target_id: int) -> Any:
    return targets.update_target(session(), clock(), actor(), target_id, changes)


@blp.route("/targets/<int:target_id>", methods=["DELETE"])
@manager_only
@blp.response(200, TargetSchema)
def delete_target(target_id: int) -> Any:
    """Remove a target; the answer is the target as it was."""
    target = targets.get_target(session(), actor().clinic_id, target_id)
    shown = SimpleNamespace(scope=target.scope, **{c.key: getattr(target, c.key) for c in targets.Target.__table__.c})
    targets.delete_target(session(), actor(), target_id)
    return shown


def _progress(month: date | None, staff_id: int | None) -> dict[str, Any]:
    clinic = get_clinic(session(), actor().clinic_id)
    now = clock().now()
    items = target_progress.progress(session(), clinic, now, month, staff_id=staff_id)
    month = (month or target_progress.this_month(clinic, now)).replace(day=1)
    start, end = target_progress.month_bounds(clinic, month)
    share = (min(max(now, start), end) - start) / (end - start)
    return {
        "month": month,
        "timezone": clinic.timezone,
        "elapsed_share": share,
        "on_track": sum(p.status == target_progress.ON_TRACK for p in items),
        "behind": sum(p.status == target_progress.BEHIND for p in items),
        "items": items,
    }


@blp.route("/targets/progress", methods=["GET"])
@manager_only
@blp.arguments(ProgressArgs, location="query")
@blp.response(200, TargetProgressListSchema)
def progress(args: dict[str, Any]) -> Any:
    """Every target's progress in a month and whether it is on track.

    The target in force in a month is min(start_value * (1 + rise_percent / 100) ^ months since start_month, cap).
    On track: a count (bookings, contacts, tasks_won) when its value so far reaches the target pro rata to the elapsed
    share of the month (the month's real time gone by, in the clinic's zone); a rate (conversion, first-contact
    resolution, realized rate, contact rate, attempts per hour) when it already reaches the target, since a rate does
    not accumulate. A rate with nothing measured yet is no_data. A team target is measured on the team's total."""
    return _progress(args.get("month"), None)


@blp.route("/targets/me", methods=["GET"])
@roles(Role.OPERATOR, Role.MANAGER)
@blp.arguments(ProgressArgs, location="query")
@blp.response(200, TargetProgressListSchema)
def my_targets(args: dict[str, Any]) -> Any:
    """The caller's own targets and the team's, with progress in a month; never another operator's.

    The target in force in a month is min(start_value * (1 + rise_percent / 100) ^ months since start_month, cap).
    On track: a count (bookings, contacts, tasks_won) when its value so far reaches the target pro rata to the elapsed
    share of the month (the month's real time gone by, in the clinic's zone); a rate (conversion, first-contact
    resolution, realized rate, contact rate, attempts per hour) when it already reaches the target, since a rate does
    not accumulate. A rate with nothing measured yet is no_data. A team target is measured on the team's total."""
    return _progress(args.get("month"), actor().member_id)
