"""Service calls: outcomes for an operator's call about a booking the patient has (confirmed, cancelled,
rescheduled, resolved, or the booking is over), and the front desk's list of reminder calls.

Existing rows: reminders get no call data (call_attempts 0); open reminder calls and patient requests
already in the queue move ahead of win-back work, as new ones will.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CLOSE_CHECK = "close_reason IN ({})"
OUTCOME_CHECK = "outcome IN ({})"
OLD_CLOSE = (
    "'booked', 'booked_at_desk', 'not_needed', 'declined', 'unreachable', 'opted_out', "
    "'booked_elsewhere', 'already_booked'"
)
NEW_CLOSE = OLD_CLOSE + ", 'confirmed', 'cancelled', 'rescheduled', 'resolved', 'booking_over'"
OLD_OUTCOMES = (
    "'booked', 'declined', 'no_answer', 'voicemail', 'busy', 'wrong_number', 'callback_requested', 'opted_out'"
)
NEW_OUTCOMES = OLD_OUTCOMES + ", 'confirmed', 'cancelled', 'rescheduled', 'resolved'"
CALL_OUTCOMES = (
    "confirmed",
    "cancelled",
    "rescheduled",
    "reached",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "opted_out",
    "superseded",
)
# Service tasks rank as if ten years overdue (recall.queue.tasks.SERVICE_HEAD_START).
SERVICE_HEAD_START = timedelta(days=3650)
TASKS = sa.table(
    "recall_tasks",
    sa.column("id", sa.Integer()),
    sa.column("reason", sa.String()),
    sa.column("status", sa.String()),
    sa.column("due_at", recall.common.db.UTCDateTime(timezone=True)),
    sa.column("rank_at", recall.common.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recall_tasks_recall_close_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recall_tasks_recall_close_reason"), CLOSE_CHECK.format(NEW_CLOSE))

    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contact_attempts_attempt_outcome"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_contact_attempts_attempt_outcome"), OUTCOME_CHECK.format(NEW_OUTCOMES)
        )

    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "call_outcome",
                sa.Enum(*CALL_OUTCOMES, name="reminder_call_outcome", native_enum=False, create_constraint=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("call_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("call_note", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("called_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("called_at", recall.common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handled_at", recall.common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_reminders_called_by_id_staff"), "staff", ["called_by_id"], ["id"])
        batch_op.create_index("ix_reminders_clinic_send", ["clinic_id", "send_at"], unique=False)
        batch_op.create_index("ix_reminders_calls", ["clinic_id", "channel", "status", "handled_at"], unique=False)

    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(TASKS.c.id, TASKS.c.due_at).where(
            TASKS.c.reason.in_(("reminder_call", "patient_request")), TASKS.c.status.in_(("open", "parked"))
        )
    ).all()
    for task_id, due_at in waiting:
        bind.execute(TASKS.update().where(TASKS.c.id == task_id).values(rank_at=due_at - SERVICE_HEAD_START))


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_calls")
        batch_op.drop_index("ix_reminders_clinic_send")
        batch_op.drop_constraint(batch_op.f("fk_reminders_called_by_id_staff"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_reminders_reminder_call_outcome"), type_="check")
        batch_op.drop_column("handled_at")
        batch_op.drop_column("called_at")
        batch_op.drop_column("called_by_id")
        batch_op.drop_column("call_note")
        batch_op.drop_column("call_attempts")
        batch_op.drop_column("call_outcome")

    # The old schema has no words for these; they become declined, as the tasks they closed do.
    op.execute(
        "UPDATE contact_attempts SET outcome = 'declined' "
        "WHERE outcome IN ('confirmed', 'cancelled', 'rescheduled', 'resolved')"
    )
    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contact_attempts_attempt_outcome"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_contact_attempts_attempt_outcome"), OUTCOME_CHECK.format(OLD_OUTCOMES)
        )

    op.execute(
        "UPDATE recall_tasks SET close_reason = 'declined' "
        "WHERE close_reason IN ('confirmed', 'cancelled', 'rescheduled', 'resolved', 'booking_over')"
    )
    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recall_tasks_recall_close_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recall_tasks_recall_close_reason"), CLOSE_CHECK.format(OLD_CLOSE))
