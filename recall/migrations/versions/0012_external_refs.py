"""Imports: a clinic's EHR or practice system names its providers, services, appointments, encounters and staff
by its own identifiers, kept as ``external_ref`` so that importing the same record again finds our row instead
of making a second one.

``providers``, ``services``, ``bookings``, ``visits`` and ``staff`` gain ``external_ref`` (patients have had it
since 0001), unique per clinic: two rows of one clinic cannot claim the same source record. A visit the EHR
reported was checked in by nobody on our staff, so ``visits.checked_in_by_id`` may now be empty (as
``checked_out_by_id`` always could).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("providers", "services", "bookings", "visits", "staff")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("external_ref", sa.String(64), nullable=True))
            batch.create_unique_constraint(f"uq_{table}_clinic_external_ref", ["clinic_id", "external_ref"])
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("checked_in_by_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("checked_in_by_id", existing_type=sa.Integer(), nullable=False)
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_clinic_external_ref", type_="unique")
            batch.drop_column("external_ref")
