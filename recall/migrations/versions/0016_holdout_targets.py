"""The reminder holdout and targets that rise.

``clinics`` gains the holdout: the share of bookings held out from automated reminders (whole percent, 0: off),
whether held-out bookings still get the policy's human calls, and the salt of the hash that picks them (fixed
when the holdout is first switched on). ``bookings`` gains ``holdout``: which side the booking fell on when its
reminders were first planned (null: no holdout was on then), so changing the share never re-labels the past.
``targets`` holds a manager's targets per KPI, for the team or one operator, rising by a percentage a month up to
a cap.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("reminder_holdout_percent", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("holdout_human_calls", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reminder_holdout_salt", sa.String(32), nullable=True))
        batch.create_check_constraint(
            "holdout_percent_range", "reminder_holdout_percent >= 0 AND reminder_holdout_percent <= 50"
        )
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("holdout", sa.Boolean(), nullable=True))
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("kpi", sa.String(40), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("start_value", sa.Float(), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("rise_percent", sa.Float(), nullable=False),
        sa.Column("cap", sa.Float(), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("updated_at", Instant(timezone=True), nullable=False),
        sa.CheckConstraint("start_value >= 0", name="target_start_non_negative"),
        sa.CheckConstraint("cap IS NULL OR cap >= start_value", name="target_cap_not_below_start"),
    )
    op.create_index("ix_targets_clinic_staff", "targets", ["clinic_id", "staff_id"])


def downgrade() -> None:
    op.drop_index("ix_targets_clinic_staff", table_name="targets")
    op.drop_table("targets")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("holdout")
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint("holdout_percent_range", type_="check")
        for column in ("reminder_holdout_salt", "holdout_human_calls", "reminder_holdout_percent"):
            batch.drop_column(column)
