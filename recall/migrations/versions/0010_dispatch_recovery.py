"""Dispatch recovery: when a reminder was claimed, and whether a lost send's recovery was made.

``claimed_at`` is the moment a worker leased the reminder (the look-up at Twilio for a lost send asks for
what was created since then); ``recovery`` says what the one recovery of a ``worker_lost`` reminder did
(``checking``, ``found``, ``resent``, ``missed``), so it is never made twice. A partial index keeps the
recovery's search to the reminders still waiting for it. Existing rows get neither (they were never recovered:
an old ``unknown`` reminder is left as it is, see ``recovery`` below).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

WAITING = "status = 'unknown' AND outcome = 'worker_lost' AND (recovery IS NULL OR recovery = 'checking')"


def upgrade() -> None:
    op.add_column("reminders", sa.Column("claimed_at", recall.common.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("reminders", sa.Column("recovery", sa.String(length=20), nullable=True))
    # Unknown reminders from before this revision were never looked up; they are old news, not to be re-sent.
    op.execute("UPDATE reminders SET recovery = 'missed' WHERE status = 'unknown'")
    op.create_index(
        "ix_reminders_recovery",
        "reminders",
        ["lease_expires_at"],
        unique=False,
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_recovery", table_name="reminders")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("recovery")
        batch_op.drop_column("claimed_at")
