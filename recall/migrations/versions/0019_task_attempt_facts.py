"""Each recall task keeps what its attempts did (recall.queue.task_facts), filled in here for the past.

The funnel and time to answer read, per task, its first attempt (when, by whom), its first answered attempt and
its latest attempt's operator. Read from the attempts, that was a window over a clinic's whole history of attempts
per report (seconds at a million attempts); kept on the task, a report reads the range's tasks alone. The
backfill orders a task's attempts by (started_at, id), as the reports' window did.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime
COLUMNS = ("first_attempt_at", "first_attempt_by_id", "first_contact_at", "last_attempt_at", "last_attempt_by_id")


def upgrade() -> None:
    with op.batch_alter_table("recall_tasks") as batch:
        batch.add_column(sa.Column("first_attempt_at", Instant(), nullable=True))
        batch.add_column(sa.Column("first_attempt_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_contact_at", Instant(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", Instant(), nullable=True))
        batch.add_column(sa.Column("last_attempt_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_recall_tasks_first_attempt_by_id_staff", "staff", ["first_attempt_by_id"], ["id"])
        batch.create_foreign_key("fk_recall_tasks_last_attempt_by_id_staff", "staff", ["last_attempt_by_id"], ["id"])
    tasks = sa.table("recall_tasks", sa.column("id"), *(sa.column(c) for c in COLUMNS))
    a = sa.table(
        "contact_attempts", sa.column("id"), sa.column("task_id"), sa.column("staff_id"), sa.column("started_at"),
        sa.column("answered", sa.Boolean()),
    )  # fmt: skip
    mine = a.c.task_id == tasks.c.id
    answered = sa.and_(mine, a.c.answered.is_(True))

    def first(column: sa.ColumnClause, *order: sa.ColumnElement) -> sa.ScalarSelect:
        return sa.select(column).where(mine).order_by(*order).limit(1).scalar_subquery()

    op.execute(
        tasks.update()
        .where(sa.exists().where(mine))
        .values(
            first_attempt_at=sa.select(sa.func.min(a.c.started_at)).where(mine).scalar_subquery(),
            first_attempt_by_id=first(a.c.staff_id, a.c.started_at, a.c.id),
            first_contact_at=sa.select(sa.func.min(a.c.started_at)).where(answered).scalar_subquery(),
            last_attempt_at=sa.select(sa.func.max(a.c.started_at)).where(mine).scalar_subquery(),
            last_attempt_by_id=first(a.c.staff_id, a.c.started_at.desc(), a.c.id.desc()),
        )
    )
    op.create_index("ix_recall_tasks_first_attempt", "recall_tasks", ["clinic_id", "first_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_recall_tasks_first_attempt", table_name="recall_tasks")
    with op.batch_alter_table("recall_tasks") as batch:
        batch.drop_constraint("fk_recall_tasks_last_attempt_by_id_staff", type_="foreignkey")
        batch.drop_constraint("fk_recall_tasks_first_attempt_by_id_staff", type_="foreignkey")
        for column in reversed(COLUMNS):
            batch.drop_column(column)
