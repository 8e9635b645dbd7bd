"""The recall queue as operators work it: browse, claim the next task, hold it, and log every attempt."""

from __future__ import annotations

from typing import Any

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.queue import attempts, claim_sheet, surge
from recall.queue import claims as queue
from recall.queue import tasks as recall_tasks
from recall.queue.attempts import AttemptInput
from recall.web.auth import roles
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint, may_answer
from recall.web.recall_tasks.schemas import (
    AttemptCreateSchema,
    AttemptListArgs,
    AttemptResultSchema,
    AttemptSchema,
    ClaimSchema,
    RecallTaskSchema,
    SurgeSchema,
    TaskListArgs,
)

blp = Blueprint("recall_tasks", __name__, description="The recall queue: tasks, leases and contact attempts")
queue_workers = roles(Role.OPERATOR, Role.MANAGER)


@blp.route("/recall-tasks", methods=["GET"])
@queue_workers
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, page_schema(RecallTaskSchema))
def list_tasks(args: dict[str, Any]) -> Any:
    """Browse and search the queue, in due order."""
    return page_of(
        recall_tasks.list_tasks(
            actor().clinic_id,
            status=args.get("status"),
            due_from=args.get("due_from"),
            due_to=args.get("due_to"),
            patient_id=args.get("patient_id"),
            service_id=args.get("service_id"),
            assignee_id=args.get("assignee_id"),
            leased=args.get("leased"),
            now=clock().now(),
        ),
        args,
    )


@blp.route("/recall-tasks/<int:task_id>", methods=["GET"])
@queue_workers
@blp.response(200, RecallTaskSchema)
def get_task(task_id: int) -> Any:
    return recall_tasks.get_task(session(), actor().clinic_id, task_id)


@blp.route("/recall-queue/claim", methods=["POST"])
@may_answer(never=(409,))
@queue_workers
@blp.response(200, ClaimSchema)
def claim() -> Any:
    """Lease the next patient's work to the caller: every open task of theirs you may work now, with what the
    call needs. ``task`` is null when nothing may be called now."""
    claim = queue.claim_next(session(), clock(), actor())
    sheet = claim_sheet.sheet_for(session(), claim, actor().clinic_id, clock().now())
    return {
        "task": claim.task,
        "surge": claim.surge,
        "closed_on_the_way": claim.closed_on_the_way,
        "tasks": sheet.tasks if sheet else [],
        "patient": sheet.patient if sheet else None,
        "attempts": sheet.attempts if sheet else [],
        "upcoming_bookings": sheet.upcoming_bookings if sheet else [],
    }


@blp.route("/recall-queue/surge", methods=["GET"])
@queue_workers
@blp.response(200, SurgeSchema)
def surge_now() -> Any:
    """Whether the clinic's surge thresholds are crossed right now, and which."""
    return surge.surge_status(session(), get_clinic(session(), actor().clinic_id), clock().now())


@blp.route("/recall-tasks/<int:task_id>/lease", methods=["PUT"])
@queue_workers
@blp.response(200, RecallTaskSchema)
def renew_lease(task_id: int) -> Any:
    """Still working: the lease runs for another full period from now."""
    return queue.renew_lease(session(), clock(), actor(), task_id)


@blp.route("/recall-tasks/<int:task_id>/lease", methods=["DELETE"])
@queue_workers
@blp.response(200, RecallTaskSchema)
def release_lease(task_id: int) -> Any:
    """Give the task back to the queue untouched (managers: anyone's)."""
    return queue.release_lease(session(), clock(), actor(), task_id)


@blp.route("/recall-tasks/<int:task_id>/attempts", methods=["POST"])
@queue_workers
@blp.arguments(AttemptCreateSchema)
@blp.response(201, AttemptResultSchema)
def log_attempt(data: AttemptInput, task_id: int) -> Any:
    """Log a contact attempt on a task you hold; its outcome moves the task by the clinic's rules."""
    return attempts.log_attempt(session(), clock(), actor(), task_id, data)


@blp.route("/recall-tasks/<int:task_id>/attempts", methods=["GET"])
@queue_workers
@blp.arguments(AttemptListArgs, location="query")
@blp.response(200, page_schema(AttemptSchema))
def list_attempts(args: dict[str, Any], task_id: int) -> Any:
    recall_tasks.get_task(session(), actor().clinic_id, task_id)  # 404 for another clinic's task
    return page_of(
        attempts.list_attempts(
            actor().clinic_id,
            task_id=task_id,
            staff_id=args.get("staff_id"),
            since=args.get("from_"),
            until=args.get("to"),
        ),
        args,
    )
