"""One target per KPI and scope, kept by the database: the check in recall.queue.targets could lose a race.

Two partial unique indexes, because a unique index treats nulls as distinct and the team's scope is a null
``staff_id``. A duplicate that a race already let in is removed first, keeping the oldest target of the scope
(the one the check would have kept; the later one was refused to everyone who saved after it).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM targets WHERE EXISTS (SELECT 1 FROM targets AS older WHERE older.clinic_id = targets.clinic_id"
        " AND older.kpi = targets.kpi AND older.id < targets.id"
        " AND (older.staff_id = targets.staff_id OR (older.staff_id IS NULL AND targets.staff_id IS NULL)))"
    )
    op.create_index(
        "uq_targets_operator_kpi",
        "targets",
        ["clinic_id", "kpi", "staff_id"],
        unique=True,
        sqlite_where=sa.text("staff_id IS NOT NULL"),
        postgresql_where=sa.text("staff_id IS NOT NULL"),
    )
    op.create_index(
        "uq_targets_team_kpi",
        "targets",
        ["clinic_id", "kpi"],
        unique=True,
        sqlite_where=sa.text("staff_id IS NULL"),
        postgresql_where=sa.text("staff_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_targets_team_kpi", table_name="targets")
    op.drop_index("uq_targets_operator_kpi", table_name="targets")
