"""Indexes for the managers' reports (the recall funnel, time to answer).

``contact_attempts`` is read per task in time order (a task's first attempt, first answered one, last one, the
attempt after a callback request): ``(task_id, started_at, id)`` gives that order without a sort. Time to
answer looks first for the tasks tried in the asked range: ``(clinic_id, started_at)``. Callback requests are a
small part of the attempts: a partial index on their callback time finds a range's callbacks without reading
every attempt.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

CALLBACK = sa.text("outcome = 'callback_requested'")


def upgrade() -> None:
    op.create_index("ix_contact_attempts_task_start", "contact_attempts", ["task_id", "started_at", "id"])
    op.create_index("ix_contact_attempts_clinic_start", "contact_attempts", ["clinic_id", "started_at"])
    op.create_index(
        "ix_contact_attempts_callbacks",
        "contact_attempts",
        ["clinic_id", "callback_at"],
        sqlite_where=CALLBACK,
        postgresql_where=CALLBACK,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_attempts_callbacks", table_name="contact_attempts")
    op.drop_index("ix_contact_attempts_clinic_start", table_name="contact_attempts")
    op.drop_index("ix_contact_attempts_task_start", table_name="contact_attempts")
