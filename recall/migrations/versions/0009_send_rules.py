"""Send rules: why a reminder does not go out as planned (moved into the patient's calling hours, or from a human
call to an automated one in a surge) and the channel the policy planned.

Existing rows: nothing moved them, so both columns stay empty.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

CHANNELS = ("sms", "voice", "operator_call", "frontdesk_call")


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column(
                "planned_channel",
                sa.Enum(*CHANNELS, name="reminder_planned_channel", native_enum=False, create_constraint=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reminders_reminder_planned_channel"), type_="check")
        batch_op.drop_column("planned_channel")
        batch_op.drop_column("moved_reason")
