"""The surge plan: thresholds a clinic sets, and whether the queue is past them right now.

A surge starts when at least ``surge_backlog`` tasks are due, or when at least
``surge_overdue_tasks`` tasks are ``surge_overdue_days`` or more overdue. While it
lasts, the queue hands out work strictly by value x overdue age, and routine
human-call reminders go out through automated channels instead. The checks are
counts capped at the threshold, so asking costs little even with a huge backlog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.queue.tasks import RecallTask, TaskStatus


class SurgePlan(Protocol):
    """A clinic's surge thresholds (a Clinic, or the claim's own read of its row)."""

    @property
    def id(self) -> int: ...
    @property
    def surge_backlog(self) -> int | None: ...
    @property
    def surge_overdue_days(self) -> int | None: ...
    @property
    def surge_overdue_tasks(self) -> int: ...


@dataclass(frozen=True)
class SurgeStatus:
    active: bool
    reasons: list[str] = field(default_factory=list)
    backlog_threshold: int | None = None
    overdue_days_threshold: int | None = None
    overdue_tasks_threshold: int | None = None


def _count_due(session: Session, clinic_id: int, before: datetime, cap: int) -> int:
    """How many open tasks were due at ``before``, counting no further than ``cap``."""
    inner = (
        sa.select(RecallTask.id)
        .where(RecallTask.clinic_id == clinic_id, RecallTask.status == TaskStatus.OPEN, RecallTask.due_at <= before)
        .limit(cap)
        .subquery()
    )
    return session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def surge_status(session: Session, clinic: SurgePlan, now: datetime) -> SurgeStatus:
    reasons: list[str] = []
    if clinic.surge_backlog is not None:
        if _count_due(session, clinic.id, now, clinic.surge_backlog) >= clinic.surge_backlog:
            reasons.append(f"{clinic.surge_backlog} or more tasks are due")
    if clinic.surge_overdue_days is not None:
        cutoff = now - timedelta(days=clinic.surge_overdue_days)
        if _count_due(session, clinic.id, cutoff, clinic.surge_overdue_tasks) >= clinic.surge_overdue_tasks:
            reasons.append(
                f"{clinic.surge_overdue_tasks} or more tasks are {clinic.surge_overdue_days} or more days overdue"
            )
    return SurgeStatus(
        active=bool(reasons),
        reasons=reasons,
        backlog_threshold=clinic.surge_backlog,
        overdue_days_threshold=clinic.surge_overdue_days,
        overdue_tasks_threshold=clinic.surge_overdue_tasks,
    )
