"""One patient, one operator; one open visit per patient.

``patient_claims`` holds one row per patient whose recall work was ever claimed, naming the last
claimer; every lease on a recall task must name that row's holder (a composite foreign key,
checked at commit), so two operators can never hold tasks of one patient. A partial unique index
allows one visit per patient that is checked in and not yet checked out. A partial index on the leased
tasks keeps the claim's "no other live lease on this patient" a range over the few leased rows.

Existing rows: each patient with leased tasks gets a claim row for the holder of the lease that
runs longest; leases of other holders on that patient's tasks are dropped (the task goes back to
the queue). The open-visit index cannot be made while a patient has two open visits: the upgrade
stops and says how many patients to check out first.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHECKED_IN = sa.text("status = 'checked_in'")
LEASED = sa.text("lease_holder_id IS NOT NULL")
TASKS = sa.table(
    "recall_tasks",
    sa.column("id", sa.Integer()),
    sa.column("patient_id", sa.Integer()),
    sa.column("lease_holder_id", sa.Integer()),
    sa.column("lease_expires_at", recall.common.db.UTCDateTime(timezone=True)),
)
CLAIMS = sa.table(
    "patient_claims",
    sa.column("patient_id", sa.Integer()),
    sa.column("holder_id", sa.Integer()),
    sa.column("claimed_at", recall.common.db.UTCDateTime(timezone=True)),
)
VISITS = sa.table("visits", sa.column("patient_id", sa.Integer()), sa.column("status", sa.String()))


def upgrade() -> None:
    bind = op.get_bind()
    doubled = bind.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(VISITS.c.patient_id)
            .where(VISITS.c.status == "checked_in")
            .group_by(VISITS.c.patient_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
    )
    if doubled:
        raise RuntimeError(
            f"{doubled} patients have more than one visit checked in and not checked out; check "
            "out all but one visit of each (POST /api/v1/visits/<id>/checkout), then migrate again"
        )

    op.create_table(
        "patient_claims",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["holder_id"], ["staff.id"], name=op.f("fk_patient_claims_holder_id_staff")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_patient_claims_patient_id_patients")),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_claims")),
        sa.UniqueConstraint("patient_id", "holder_id", name="uq_patient_claims_patient_holder"),
    )
    with op.batch_alter_table("patient_claims", schema=None) as batch_op:
        batch_op.create_index("ix_patient_claims_holder", ["holder_id"], unique=False)

    # Today's leases: the longest-running one per patient keeps its holder; the others are dropped.
    leases = bind.execute(
        sa.select(TASKS.c.id, TASKS.c.patient_id, TASKS.c.lease_holder_id, TASKS.c.lease_expires_at)
        .where(TASKS.c.lease_holder_id.is_not(None))
        .order_by(TASKS.c.patient_id, TASKS.c.lease_expires_at.desc(), TASKS.c.id)
    ).all()
    holder: dict[int, tuple[int, object]] = {}
    for task_id, patient_id, holder_id, expires in leases:
        if patient_id not in holder:
            holder[patient_id] = (holder_id, expires)
        elif holder[patient_id][0] != holder_id:
            bind.execute(
                TASKS.update().where(TASKS.c.id == task_id).values(lease_holder_id=None, lease_expires_at=None)
            )
    if holder:
        bind.execute(
            CLAIMS.insert(), [{"patient_id": p, "holder_id": h, "claimed_at": e} for p, (h, e) in holder.items()]
        )

    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_recall_tasks_lease_patient_claims",
            "patient_claims",
            ["patient_id", "lease_holder_id"],
            ["patient_id", "holder_id"],
            deferrable=True,
            initially="DEFERRED",
        )
        batch_op.create_index(
            "ix_recall_tasks_live_lease",
            ["lease_expires_at", "patient_id"],
            unique=False,
            sqlite_where=LEASED,
            postgresql_where=LEASED,
        )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            "uq_visits_open_patient", ["patient_id"], unique=True, sqlite_where=CHECKED_IN, postgresql_where=CHECKED_IN
        )


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("uq_visits_open_patient", sqlite_where=CHECKED_IN, postgresql_where=CHECKED_IN)
    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_recall_tasks_live_lease", sqlite_where=LEASED, postgresql_where=LEASED)
        batch_op.drop_constraint("fk_recall_tasks_lease_patient_claims", type_="foreignkey")
    with op.batch_alter_table("patient_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_claims_holder")
    op.drop_table("patient_claims")
