"""Privacy duties: a patient can be erased, and texts are kept only as long as the clinic says.

``patients`` gains ``erased_at`` (when the patient was forgotten: recall.privacy.erasure). ``clinics`` gains
``text_retention_days``: how long the SMS texts patients send and Twilio's webhook receipts are kept before the
worker purges them (recall.privacy.retention); a year by default.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("erased_at", Instant(), nullable=True))
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("text_retention_days", sa.Integer(), nullable=False, server_default="365"))


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("text_retention_days")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("erased_at")
