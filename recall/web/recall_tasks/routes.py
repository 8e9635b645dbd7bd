"""The recall tasks: patients who left without the follow-up their visit called for."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from recall import recall_tasks
from recall.web.auth import any_staff
from recall.web.common import actor, page_of, page_schema, session
from recall.web.recall_tasks.schemas import RecallTaskSchema, TaskListArgs

blp = Blueprint("recall_tasks", __name__, description="Recall tasks")


@blp.route("/recall-tasks", methods=["GET"])
@any_staff
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, page_schema(RecallTaskSchema))
def list_tasks(args: dict[str, Any]) -> Any:
    return page_of(recall_tasks.list_tasks(
        actor().clinic_id, status=args.get("status"), due_from=args.get("due_from"), due_to=args.get("due_to"),
        patient_id=args.get("patient_id"), service_id=args.get("service_id")), args)


@blp.route("/recall-tasks/<int:task_id>", methods=["GET"])
@any_staff
@blp.response(200, RecallTaskSchema)
def get_task(task_id: int) -> Any:
    return recall_tasks.get_task(session(), actor().clinic_id, task_id)
