"""The credit ledger is append-only, enforced by the database: UPDATE and DELETE are refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE = "credit entries are append-only: append a new entry instead"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER credit_entries_no_{action.lower()} BEFORE {action} ON credit_entries
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
            """)
        return
    op.execute(f"""
        CREATE FUNCTION credit_entries_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; END
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE ON credit_entries
        FOR EACH ROW EXECUTE FUNCTION credit_entries_append_only()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER credit_entries_no_update")
        op.execute("DROP TRIGGER credit_entries_no_delete")
        return
    op.execute("DROP TRIGGER credit_entries_append_only ON credit_entries")
    op.execute("DROP FUNCTION credit_entries_append_only()")
