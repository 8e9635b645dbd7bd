"""How the recall queue stands right now: read-only counts for managers, in total and per service.

The lenses overlap on purpose (a due task may also be leased). Overdue bands split the due tasks by how long
ago they fell due; a band includes its lower bound (exactly 1 day overdue is "1 to 7 days"). ``unreachable``
counts tasks closed as unreachable in the last 30 days: an all-time count only grows and says nothing about
whether the attempt limit is eating patients lately. The database counts (one grouped query), so the cost
follows the waiting tasks, never a Python loop over every task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Service
from recall.clinic.clinics import Clinic
from recall.queue.measures import count_if
from recall.queue.surge import SurgeStatus, surge_status
from recall.queue.tasks import CloseReason, RecallTask, TaskStatus

UNREACHABLE_WINDOW = timedelta(days=30)


@dataclass
class QueueCounts:
    open: int = 0
    not_yet_due: int = 0
    due_now: int = 0
    overdue_under_1_day: int = 0
    overdue_1_to_7_days: int = 0
    overdue_7_to_30_days: int = 0
    overdue_over_30_days: int = 0
    leased: int = 0
    callbacks: int = 0
    parked: int = 0
    unreachable: int = 0


@dataclass
class ServiceCounts(QueueCounts):
    service_id: int | None = None  # None: tasks without a service
    service_name: str = "none"


@dataclass
class QueueHealth:
    now: datetime
    unreachable_since: datetime
    totals: QueueCounts
    services: list[ServiceCounts]
    surge: SurgeStatus


def queue_health(session: Session, clinic: Clinic, now: datetime) -> QueueHealth:
    """The queue's state at ``now``, in total and per service: one grouped query over the waiting tasks."""
    t = RecallTask
    since = now - UNREACHABLE_WINDOW
    is_open = t.status == TaskStatus.OPEN
    unreachable = sa.and_(
        t.status == TaskStatus.CLOSED, t.close_reason == CloseReason.UNREACHABLE, t.closed_at >= since
    )
    day1, day7, day30 = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    lenses = {
        "open": is_open,
        "not_yet_due": sa.and_(is_open, t.due_at > now),
        "due_now": sa.and_(is_open, t.due_at <= now),
        "overdue_under_1_day": sa.and_(is_open, t.due_at <= now, t.due_at > day1),
        "overdue_1_to_7_days": sa.and_(is_open, t.due_at <= day1, t.due_at > day7),
        "overdue_7_to_30_days": sa.and_(is_open, t.due_at <= day7, t.due_at > day30),
        "overdue_over_30_days": sa.and_(is_open, t.due_at <= day30),
        "leased": sa.and_(is_open, t.lease_expires_at > now),
        "callbacks": sa.and_(is_open, t.reserved_for_id.is_not(None), t.reserved_until > now),
        "parked": t.status == TaskStatus.PARKED,
        "unreachable": unreachable,
    }
    rows = session.execute(
        sa.select(t.service_id, *(count_if(cond).label(name) for name, cond in lenses.items()))
        .where(t.clinic_id == clinic.id, sa.or_(t.status.in_((TaskStatus.OPEN, TaskStatus.PARKED)), unreachable))
        .group_by(t.service_id)
    ).all()
    ids = [r.service_id for r in rows if r.service_id is not None]
    names = dict(
        session.execute(
            sa.select(Service.id, Service.name).where(Service.clinic_id == clinic.id, Service.id.in_(ids))
        ).all()
    )
    services = [
        ServiceCounts(
            service_id=r.service_id,
            service_name=names.get(r.service_id, "none"),
            **{name: int(getattr(r, name)) for name in lenses},
        )
        for r in sorted(rows, key=lambda r: (r.service_id is None, r.service_id or 0))
    ]
    totals = QueueCounts(**{name: sum(getattr(s, name) for s in services) for name in lenses})
    return QueueHealth(
        now=now, unreachable_since=since, totals=totals, services=services, surge=surge_status(session, clinic, now)
    )
