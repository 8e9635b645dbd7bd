"""The console: staff sign in with a password, through invite links, in a language of their own; a CRM opens it
through a signed launch link.

``staff`` gains the password's Argon2 hash (none until an invite is accepted), the failed sign-ins that slow
down and lock further ones, and the console language. ``console_sessions`` holds one row per signed-in browser
(the cookie carries a random secret whose SHA-256 is stored), so sign-out and a manager's reset end it on the
server. ``staff_links`` are the one-time invite and reset links. ``clinic_integrations`` holds a clinic's
launch-link secret (with the previous one, valid for a grace period after a rotation) and the origins that may
frame the console; ``launch_nonces`` makes every launch link usable once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        batch.add_column(sa.Column("failed_signins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_failed_at", Instant(timezone=True), nullable=True))
        batch.add_column(sa.Column("locked_until", Instant(timezone=True), nullable=True))
        batch.add_column(sa.Column("language", sa.String(5), nullable=False, server_default="en"))
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("expires_at", Instant(timezone=True), nullable=False),
        sa.Column("revoked_at", Instant(timezone=True), nullable=True),
    )
    op.create_table(
        "staff_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("expires_at", Instant(timezone=True), nullable=False),
        sa.Column("used_at", Instant(timezone=True), nullable=True),
    )
    op.create_table(
        "clinic_integrations",
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("launch_secret", sa.String(200), nullable=True),
        sa.Column("previous_launch_secret", sa.String(200), nullable=True),
        sa.Column("rotated_at", Instant(timezone=True), nullable=True),
        sa.Column("frame_ancestors", sa.Text(), nullable=False, server_default=""),
    )
    op.create_table(
        "launch_nonces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("expires_at", Instant(timezone=True), nullable=False),
        sa.UniqueConstraint("clinic_id", "nonce", name="uq_launch_nonce"),
    )


def downgrade() -> None:
    op.drop_table("launch_nonces")
    op.drop_table("clinic_integrations")
    op.drop_table("staff_links")
    op.drop_table("console_sessions")
    with op.batch_alter_table("staff") as batch:
        for column in ("language", "locked_until", "last_failed_at", "failed_signins", "password_hash"):
            batch.drop_column(column)
