"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 06:37:14.915599
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recall.common.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("phone_region", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recall_cooling_off_hours", sa.Integer(), nullable=False),
        sa.Column("calling_weekday_start", sa.SmallInteger(), nullable=False),
        sa.Column("calling_weekday_end", sa.SmallInteger(), nullable=False),
        sa.Column("calling_weekend_start", sa.SmallInteger(), nullable=False),
        sa.Column("calling_weekend_end", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("calling_weekday_start < calling_weekday_end", name=op.f("ck_clinics_weekday_hours_order")),
        sa.CheckConstraint("calling_weekend_start < calling_weekend_end", name=op.f("ck_clinics_weekend_hours_order")),
        sa.CheckConstraint("recall_cooling_off_hours >= 0", name=op.f("ck_clinics_cooling_off_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column(
            "language",
            sa.Enum("en", "pl", "ru", "sv", "zh", name="patient_language", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("consent_sms", sa.Boolean(), nullable=False),
        sa.Column("consent_voice", sa.Boolean(), nullable=False),
        sa.Column("consent_call", sa.Boolean(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("opted_out_at", recall.common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("phone_invalid", sa.Boolean(), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_patients_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_patients_clinic_external_ref"),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_clinic_name", ["clinic_id", "full_name"], unique=False)
        batch_op.create_index("ix_patients_clinic_phone", ["clinic_id", "phone_e164"], unique=False)

    op.create_table(
        "pay_plans",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("frontdesk_base_cents", sa.Integer(), nullable=False),
        sa.Column("operator_base_cents", sa.Integer(), nullable=False),
        sa.Column("recall_multiplier_milli", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "frontdesk_base_cents >= 0 AND operator_base_cents >= 0", name=op.f("ck_pay_plans_bases_non_negative")
        ),
        sa.CheckConstraint("recall_multiplier_milli >= 1000", name=op.f("ck_pay_plans_multiplier_at_least_one")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_pay_plans_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_pay_plans")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_providers_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_providers_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("follow_up_interval_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_services_duration_positive")),
        sa.CheckConstraint(
            "follow_up_interval_days IS NULL OR follow_up_interval_days > 0", name=op.f("ck_services_interval_positive")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_services_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("clinic_id", "name", name="uq_services_clinic_name"),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "role",
            sa.Enum("operator", "frontdesk", "manager", name="staff_role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_staff_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("clinic_id", "email", name="uq_staff_clinic_email"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=12), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", recall.common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_api_tokens_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "pay_plan_service_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "operator", "frontdesk", "manager", name="service_rate_role", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_pay_plan_service_rates_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_pay_plan_service_rates_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_pay_plan_service_rates_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_plan_service_rates")),
        sa.UniqueConstraint("clinic_id", "service_id", "role", name="uq_service_rates_clinic_service_role"),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("checked_in", "checked_out", name="visit_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("checked_in_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_in_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_out_at", recall.common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_out_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "follow_up",
            sa.Enum(
                "not_needed",
                "booked",
                "declined",
                "undecided",
                name="visit_follow_up",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("follow_up_date", sa.Date(), nullable=True),
        sa.Column("follow_up_booking_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["checked_in_by_id"], ["staff.id"], name=op.f("fk_visits_checked_in_by_id_staff")),
        sa.ForeignKeyConstraint(["checked_out_by_id"], ["staff.id"], name=op.f("fk_visits_checked_out_by_id_staff")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_visits_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_visits_patient_id_patients")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_visits_provider_id_providers")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_visits_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_visits_booking_id")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_clinic_checked_in", ["clinic_id", "checked_in_at"], unique=False)
        batch_op.create_index("ix_visits_patient", ["patient_id"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("start_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "confirmed",
                "cancelled",
                "attended",
                "no_show",
                name="booking_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "in_person",
                "phone",
                "chat",
                "sms",
                "voice_reply",
                "online",
                name="booking_channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "visit_checkout",
                "recall_task",
                "reminder_reply",
                "new_request",
                name="booking_source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("source_visit_id", sa.Integer(), nullable=True),
        sa.Column("recall_task_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_of_visit_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("credited_staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "credited_role",
            sa.Enum(
                "operator",
                "frontdesk",
                "manager",
                name="booking_credited_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_bookings_ends_after_start")),
        sa.CheckConstraint(
            "provider_id IS NOT NULL OR service_id IS NOT NULL", name=op.f("ck_bookings_provider_or_service")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_bookings_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff.id"], name=op.f("fk_bookings_created_by_id_staff")),
        sa.ForeignKeyConstraint(["credited_staff_id"], ["staff.id"], name=op.f("fk_bookings_credited_staff_id_staff")),
        sa.ForeignKeyConstraint(
            ["follow_up_of_visit_id"], ["visits.id"], name=op.f("fk_bookings_follow_up_of_visit_id_visits")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_bookings_patient_id_patients")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_bookings_provider_id_providers")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_bookings_service_id_services")),
        sa.ForeignKeyConstraint(["source_visit_id"], ["visits.id"], name=op.f("fk_bookings_source_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_clinic_start", ["clinic_id", "start_at"], unique=False)
        batch_op.create_index("ix_bookings_follow_up_of_visit", ["follow_up_of_visit_id"], unique=False)
        batch_op.create_index("ix_bookings_patient_start", ["patient_id", "start_at"], unique=False)

    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("operator", "frontdesk", "manager", name="credit_role", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("is_recall", sa.Boolean(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("pending", "earned", "void", name="credit_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("occurred_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_credit_entries_amount_non_negative")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_credit_entries_booking_id_bookings")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_credit_entries_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_credit_entries_service_id_services")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_credit_entries_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("booking_id", "kind", name="uq_credit_entries_booking_kind"),
    )
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_credit_entries_clinic_day", ["clinic_id", "local_day"], unique=False)
        batch_op.create_index(
            "ix_credit_entries_staff_day", ["staff_id", "local_day", "kind", "amount_cents"], unique=False
        )

    op.create_table(
        "recall_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("origin_visit_id", sa.Integer(), nullable=True),
        sa.Column("origin_booking_id", sa.Integer(), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "declined",
                "undecided",
                "booking_cancelled",
                "no_show",
                name="recall_task_reason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "won", "closed", name="recall_task_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("follow_up_date", sa.Date(), nullable=True),
        sa.Column("due_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", recall.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", recall.common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "close_reason",
            sa.Enum(
                "booked",
                "booked_at_desk",
                "not_needed",
                name="recall_close_reason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_recall_tasks_booking_id_bookings")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_recall_tasks_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["staff.id"], name=op.f("fk_recall_tasks_closed_by_id_staff")),
        sa.ForeignKeyConstraint(
            ["origin_booking_id"], ["bookings.id"], name=op.f("fk_recall_tasks_origin_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["origin_visit_id"], ["visits.id"], name=op.f("fk_recall_tasks_origin_visit_id_visits")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_recall_tasks_patient_id_patients")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_recall_tasks_provider_id_providers")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_recall_tasks_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_tasks")),
    )
    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_recall_tasks_patient", ["patient_id", "status"], unique=False)
        batch_op.create_index("ix_recall_tasks_queue", ["clinic_id", "status", "due_at"], unique=False)
        batch_op.create_index(
            "uq_recall_tasks_open_visit",
            ["origin_visit_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    # The foreign keys that close the cycles between visits, bookings and recall tasks,
    # added once all three tables exist.
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_foreign_key(op.f("fk_visits_booking_id_bookings"), "bookings", ["booking_id"], ["id"])
        batch_op.create_foreign_key(
            op.f("fk_visits_follow_up_booking_id_bookings"), "bookings", ["follow_up_booking_id"], ["id"]
        )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_bookings_recall_task_id_recall_tasks"), "recall_tasks", ["recall_task_id"], ["id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_bookings_recall_task_id_recall_tasks"), "bookings", type_="foreignkey")
        op.drop_constraint(op.f("fk_visits_booking_id_bookings"), "visits", type_="foreignkey")
        op.drop_constraint(op.f("fk_visits_follow_up_booking_id_bookings"), "visits", type_="foreignkey")
    with op.batch_alter_table("recall_tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recall_tasks_open_visit",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_recall_tasks_queue")
        batch_op.drop_index("ix_recall_tasks_patient")

    op.drop_table("recall_tasks")
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_entries_staff_day")
        batch_op.drop_index("ix_credit_entries_clinic_day")

    op.drop_table("credit_entries")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_patient_start")
        batch_op.drop_index("ix_bookings_follow_up_of_visit")
        batch_op.drop_index("ix_bookings_clinic_start")

    op.drop_table("bookings")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_patient")
        batch_op.drop_index("ix_visits_clinic_checked_in")

    op.drop_table("visits")
    op.drop_table("pay_plan_service_rates")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_staff_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_clinic_id"))

    op.drop_table("staff")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_clinic_id"))

    op.drop_table("services")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_providers_clinic_id"))

    op.drop_table("providers")
    op.drop_table("pay_plans")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_clinic_phone")
        batch_op.drop_index("ix_patients_clinic_name")

    op.drop_table("patients")
    op.drop_table("clinics")
