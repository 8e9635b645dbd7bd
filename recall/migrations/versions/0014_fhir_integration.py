"""The EHR over FHIR: integration tokens for the Bundle endpoint, the secret that signs the EHR's notifications,
and the notifications already seen (a replay does nothing).

``integration_tokens`` are a clinic's, not a staff member's: stored hashed, revocable, acting as the system for
their clinic. ``ehr_links`` holds one Standard Webhooks secret per clinic; ``ehr_notifications`` one row per
webhook-id received; ``ehr_resource_ids`` the EHR's own id (``Patient/123``) of each resource that landed, with the
ref it landed under, so that a later reference by that id alone finds it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Instant = recall.common.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "integration_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(12), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("revoked_at", Instant(timezone=True), nullable=True),
    )
    op.create_table(
        "ehr_links",
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("issued_at", Instant(timezone=True), nullable=False),
    )
    op.create_table(
        "ehr_notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("webhook_id", sa.String(200), nullable=False),
        sa.Column("received_at", Instant(timezone=True), nullable=False),
        sa.UniqueConstraint("clinic_id", "webhook_id", name="uq_ehr_notification"),
    )

    op.create_table(
        "ehr_resource_ids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("fhir_id", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.UniqueConstraint("clinic_id", "resource_type", "fhir_id", name="uq_ehr_resource_id"),
    )


def downgrade() -> None:
    op.drop_table("ehr_resource_ids")
    op.drop_table("ehr_notifications")
    op.drop_table("ehr_links")
    op.drop_table("integration_tokens")
