"""A clinic's own Twilio account: its Account SID (one clinic per account) and its auth token, sealed.

Existing clinics get none and keep sending through the service-wide account.

Revision ID: 0007
Revises: 0009 (chained after main's 0009 when main was merged in)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("twilio_account_sid", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("twilio_auth_token_sealed", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_clinics_twilio_account_sid"), ["twilio_account_sid"])
        batch_op.create_check_constraint(
            op.f("ck_clinics_twilio_account_whole"), "(twilio_account_sid IS NULL) = (twilio_auth_token_sealed IS NULL)"
        )


def downgrade() -> None:
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_clinics_twilio_account_whole"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_clinics_twilio_account_sid"), type_="unique")
        batch_op.drop_column("twilio_auth_token_sealed")
        batch_op.drop_column("twilio_account_sid")
