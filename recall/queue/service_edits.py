"""A manager's edit of a service, with what it changes in the recall queue.

A service's value weight orders the queue, so a new weight re-ranks the service's waiting tasks in the same
transaction. The catalog sits below the queue (a task reads its service's weight when it opens), so this use
case, which touches both, sits here, above both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from recall.clinic.catalog import Service, change_service
from recall.common.actors import Actor
from recall.queue.tasks import reweigh_open_tasks


def update_service(session: Session, actor: Actor, service_id: int, data: dict[str, Any]) -> Service:
    """Edit a service (a manager's); commits."""
    service = change_service(session, actor, service_id, data)
    if "value_weight" in data:
        reweigh_open_tasks(session, service.id, service.value_weight)
    session.commit()
    return service
