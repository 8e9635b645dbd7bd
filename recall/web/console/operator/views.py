"""The desk: take the next patient (the API's claim-next), hold them (renew, release) and log each outcome
(the API's attempt); after an outcome the patient's next task, or the next patient, follows in place."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from recall.common.actors import Role
from recall.common.errors import Conflict, NotFound, ValidationError
from recall.queue import attempts, desk
from recall.queue import claims as queue
from recall.queue.claims import Claim
from recall.web.common import MAX_ID, clock, session
from recall.web.console.operator import blp
from recall.web.console.operator.card import desk_context
from recall.web.console.operator.forms import attempt_errors, read_attempt
from recall.web.console.pages import clinic, console_actor, field_errors, page, render

DESK, FRAGMENT = "operator/desk.html", "operator/_desk.html"


def _show(claim: Claim | None, status: int = 200, **kw: Any) -> Any:
    return render(DESK, fragment=FRAGMENT, status=status, **desk_context(claim, **kw))


def _held() -> Claim:
    return desk.held_claim(session(), clinic(), console_actor(), clock().now())


def _task_id(task_id: int) -> int:
    if task_id > MAX_ID:  # no such id; the database's integer would overflow
        raise NotFound("recall task", task_id)
    return task_id


def _refused(error: ValidationError | Conflict, errors: dict[str, list[str]] | None = None) -> Any:
    """Nothing written: the desk again as it was, with the message beside the field it names."""
    session().rollback()
    status = 409 if isinstance(error, Conflict) else 422
    return _show(
        _held(), status=status, errors=errors or field_errors(error, {"task_id": "_form"}), form=request.form.to_dict()
    )


@blp.get("/", endpoint="desk")
@page(Role.OPERATOR, Role.MANAGER)
def desk_page() -> Any:
    return _show(_held())


@blp.post("/next")
@page(Role.OPERATOR, Role.MANAGER)
def take_next() -> Any:
    """The patient on the desk stays until settled or released; with nobody there, the queue's next."""
    held = _held()
    if held.task is not None:
        return _show(held)
    claim = queue.claim_next(session(), clock(), console_actor())
    return _show(claim, empty=claim.task is None)


@blp.post("/tasks/<int:task_id>/renew")
@page(Role.OPERATOR, Role.MANAGER)
def renew(task_id: int) -> Any:
    try:
        queue.renew_lease(session(), clock(), console_actor(), _task_id(task_id))
    except (ValidationError, Conflict) as error:
        return _refused(error)
    return _show(_held(), notice=_("You have the patient for another full lease."))


@blp.post("/tasks/<int:task_id>/release")
@page(Role.OPERATOR, Role.MANAGER)
def release(task_id: int) -> Any:
    try:
        queue.release_lease(session(), clock(), console_actor(), _task_id(task_id))
    except (ValidationError, Conflict) as error:
        return _refused(error)
    return _show(_held(), notice=_("The patient is back in the queue, untouched."))


@blp.post("/tasks/<int:task_id>/attempts")
@page(Role.OPERATOR, Role.MANAGER)
def log_attempt(task_id: int) -> Any:
    c = clinic()
    zone = desk.patient_zone(session(), c, _task_id(task_id))  # 404 for another clinic's task
    try:
        data = read_attempt(request.form, clinic_zone=c.timezone, patient_zone=zone, now=clock().now())
        attempts.log_attempt(session(), clock(), console_actor(), task_id, data)
    except (ValidationError, Conflict) as error:
        return _refused(error, attempt_errors(error, request.form.get("outcome")))
    held = _held()
    if held.task is not None:
        return _show(held, notice=_("Saved. This patient's next task:"))
    claim = queue.claim_next(session(), clock(), console_actor())
    if claim.task is None:
        return _show(claim, notice=_("Saved."), empty=True)
    return _show(claim, notice=_("Saved. The next patient:"))
