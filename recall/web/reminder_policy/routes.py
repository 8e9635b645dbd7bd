"""The clinic's reminder policy: read by all staff, edited (and versioned) by the manager.

Views are thin: the document is checked by the schemas for shape and by
``recall.reminder_policy`` for its rules; a save answers with the new version and
the warnings the manager should see (an SMS text longer than 2 segments, say).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recall.clinic.clinics import get_clinic
from recall.common.timeutil import zone
from recall.reminders import policy as reminder_policy
from recall.reminders import policy_versions, replans
from recall.reminders.planning import DEFAULT_POLICY, PlannedStep
from recall.reminders.policy_validation import policy_warnings
from recall.reminders.policy_versions import ReminderPolicy
from recall.web.auth import any_staff, manager_only
from recall.web.common import PageArgs, actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint, may_answer
from recall.web.reminder_policy.schemas import (
    PolicySchema,
    PolicyVersionSchema,
    PreviewResultSchema,
    PreviewSchema,
)

blp = Blueprint(
    "reminder_policy",
    __name__,
    description="The clinic's reminder policy: steps, calling hours, templates and its versions",
)


def _shown(row: ReminderPolicy, warnings: list[str], *, progress: bool = False) -> dict[str, Any]:
    return {
        "version": row.version,
        "body": row.body,
        "warnings": warnings,
        "created_at": row.created_at,
        "created_by_id": row.created_by_id,
        "replan": replans.latest(session(), row.clinic_id) if progress else None,
    }


@blp.route("/clinic/reminder-policy", methods=["GET"])
@any_staff
@blp.response(200, PolicyVersionSchema)
def get_policy() -> Any:
    """The policy in force: its version (0 for the built-in default), the document and its warnings."""
    row = policy_versions.latest_version(session(), actor().clinic_id)
    if row is None:
        return {
            "version": 0,
            "body": DEFAULT_POLICY.to_json(),
            "warnings": [],
            "created_at": None,
            "created_by_id": None,
            "replan": None,
        }
    return _shown(row, policy_warnings(row.doc), progress=True)


@blp.route("/clinic/reminder-policy", methods=["PUT"])
@manager_only
@blp.arguments(PolicySchema)
@blp.response(200, PolicyVersionSchema)
def replace_policy(document: dict[str, Any]) -> Any:
    """Save the whole document as the next version. Future reminders are planned by it from now on.

    The answer comes at once: the request re-plans the soonest future bookings itself, and the worker the rest in
    short batches, during which the clinic's other writes go on; ``replan`` is the progress."""
    row, warnings = reminder_policy.replace_policy(session(), clock(), actor(), document)
    return _shown(row, warnings, progress=True)


@blp.route("/clinic/reminder-policy/versions", methods=["GET"])
@manager_only
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(PolicyVersionSchema))
def list_versions(args: dict[str, Any]) -> Any:
    """Every saved version, newest first."""
    page = page_of(policy_versions.list_versions(actor().clinic_id), args)
    return replace(page, items=[_shown(row, policy_warnings(row.doc)) for row in page.items])


@blp.route("/clinic/reminder-policy/versions/<int:version>", methods=["GET"])
@manager_only
@blp.response(200, PolicyVersionSchema)
def get_version(version: int) -> Any:
    """One saved version of the policy."""
    row = policy_versions.get_version(session(), actor().clinic_id, version)
    return _shown(row, policy_warnings(row.doc))


def _planned(step: PlannedStep, zone_name: str) -> dict[str, Any]:
    return {
        "step_index": step.step_index,
        "channel": step.channel.value,
        "fallback": step.fallback.value,
        "offset_minutes": step.offset_minutes,
        "send_at": step.send_at,
        "moved": step.moved,
        "local_send_at": step.send_at.astimezone(zone(zone_name)).isoformat(timespec="minutes"),
        "skipped_reason": step.skipped_reason,
        "automated_from": step.automated_from.value if step.automated_from else None,
    }


@blp.route("/clinic/reminder-policy/preview", methods=["POST"])
@may_answer(never=(409,))
@manager_only
@blp.arguments(PreviewSchema)
@blp.response(200, PreviewResultSchema)
def preview(args: dict[str, Any]) -> Any:
    """A sample reminder (text, SMS segments, worst case) and the plan for a sample visit; saves nothing."""
    clinic = get_clinic(session(), actor().clinic_id)
    result = reminder_policy.preview(session(), clinic, clock().now(), **args)
    return {**vars(result), "plan": [_planned(step, result.timezone) for step in result.plan]}
