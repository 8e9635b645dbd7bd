"""Each callback request keeps the start of its task's next attempt, filled in here for the past.

Time to answer finds, per callback in a range, the task's next attempt after it. Searched for in the
attempts, that was one probe of the task's attempts per callback (most of the report's time at a million
attempts); kept on the request (``recall.queue.attempts.note_callbacks``), the report reads the range's
callbacks alone, from their index. The backfill orders a task's attempts by (started_at, id), as the search did.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime
CALLBACKS = "outcome = 'callback_requested'"


def _callback_index(include: list[str] | None) -> None:
    op.create_index(
        "ix_contact_attempts_callbacks",
        "contact_attempts",
        ["clinic_id", "callback_at"],
        sqlite_where=sa.text(CALLBACKS),
        postgresql_where=sa.text(CALLBACKS),
        postgresql_include=include or [],
    )


def upgrade() -> None:
    with op.batch_alter_table("contact_attempts") as batch:
        batch.add_column(sa.Column("next_attempt_at", Instant(), nullable=True))
    with op.batch_alter_table("recall_tasks") as batch:
        batch.add_column(sa.Column("callback_unanswered", sa.Boolean(), nullable=False, server_default=sa.false()))
    a = sa.table(
        "contact_attempts", sa.column("id"), sa.column("task_id"), sa.column("outcome"), sa.column("started_at"),
        sa.column("next_attempt_at"),
    )  # fmt: skip
    n = a.alias("n")
    later = sa.or_(n.c.started_at > a.c.started_at, sa.and_(n.c.started_at == a.c.started_at, n.c.id > a.c.id))
    op.execute(
        a.update()
        .where(a.c.outcome == "callback_requested")
        .values(
            next_attempt_at=sa.select(sa.func.min(n.c.started_at))
            .where(n.c.task_id == a.c.task_id, later)
            .scalar_subquery()
        )
    )
    tasks = sa.table("recall_tasks", sa.column("id"), sa.column("callback_unanswered", sa.Boolean()))
    waiting = sa.select(a.c.task_id).where(a.c.outcome == "callback_requested", a.c.next_attempt_at.is_(None))
    op.execute(tasks.update().where(tasks.c.id.in_(waiting)).values(callback_unanswered=True))
    op.drop_index("ix_contact_attempts_callbacks", table_name="contact_attempts")
    _callback_index(["staff_id", "task_id", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_contact_attempts_callbacks", table_name="contact_attempts")
    _callback_index(None)
    with op.batch_alter_table("recall_tasks") as batch:
        batch.drop_column("callback_unanswered")
    with op.batch_alter_table("contact_attempts") as batch:
        batch.drop_column("next_attempt_at")
