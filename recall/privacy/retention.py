"""Keeping texts only as long as the clinic says: the worker's purge of SMS texts and webhook receipts.

Each clinic sets ``text_retention_days`` (a year by default, 7 to 3650): the SMS texts its patients sent (kept on
the recall task the reply opened, for the operator to read) are emptied once the task is older than that, and the
EHR's notification receipts of the clinic go too. Twilio's webhook receipts belong to no clinic (they only make a
retried callback do nothing twice, which Twilio does within hours): they go after the shortest retention of any
clinic. Rows and their outcomes stay; only the text and the receipts go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import DEFAULT_TEXT_RETENTION_DAYS, Clinic
from recall.clinic.ehr import EhrNotification
from recall.queue.tasks import RecallTask
from recall.reminders.inbound.receipts import WebhookReceipt


@dataclass(frozen=True)
class Purged:
    texts: int
    receipts: int
    notifications: int


def purge(session: Session, now: datetime) -> Purged:
    """Empty the texts and drop the receipts older than their clinic's retention (the caller commits)."""
    texts = notifications = 0
    shortest = DEFAULT_TEXT_RETENTION_DAYS
    for clinic_id, days in session.execute(sa.select(Clinic.id, Clinic.text_retention_days)).all():
        shortest = min(shortest, days)
        cutoff = now - timedelta(days=days)
        texts += _changed(
            session,
            sa.update(RecallTask)
            .where(
                RecallTask.clinic_id == clinic_id,
                RecallTask.request_text.is_not(None),
                RecallTask.created_at < cutoff,
            )
            .values(request_text=None)
            .execution_options(synchronize_session=False),
        )
        notifications += _changed(
            session,
            sa.delete(EhrNotification).where(
                EhrNotification.clinic_id == clinic_id, EhrNotification.received_at < cutoff
            ),
        )
    receipts = _changed(
        session, sa.delete(WebhookReceipt).where(WebhookReceipt.received_at < now - timedelta(days=shortest))
    )
    return Purged(texts=texts, receipts=receipts, notifications=notifications)


def _changed(session: Session, statement: Any) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return cast("sa.CursorResult[Any]", session.execute(statement)).rowcount or 0
