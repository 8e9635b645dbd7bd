"""The schema comes from the migrations, matches the models, and the databases are set up as designed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import recall.models  # noqa: F401
from recall.common.db import Base, make_engine
from recall.migrate import downgrade, upgrade


def test_the_migrated_schema_matches_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrations_go_down_to_nothing_and_back_up(db_url):
    engine = make_engine(db_url)
    try:
        downgrade(engine, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert set(Base.metadata.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=7000)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_second_open_task_for_the_same_visit_is_impossible(database, clock, world, people):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from recall.clinic.clinics import get_clinic
    from recall.queue.tasks import TaskReason, open_task
    from recall.visits.visits import check_in

    with database.writer() as s:
        visit = check_in(s, clock, people["frontdesk"], patient_id=world.a.patients[0].id)
    with database.writer() as s:
        clinic = get_clinic(s, world.a.clinic.id)
        kw = dict(
            clinic=clinic,
            patient_id=visit.patient_id,
            reason=TaskReason.UNDECIDED,
            due_at=clock.now(),
            now=clock.now(),
            follow_up_date=None,
            service_id=None,
            provider_id=None,
            origin_visit_id=visit.id,
        )
        open_task(s, **kw)
        with pytest.raises(IntegrityError):
            open_task(s, **kw)


def test_the_database_refuses_to_rewrite_or_delete_a_ledger_entry(database, clock, world, people):
    import pytest
    from sqlalchemy.exc import DatabaseError

    from recall.credit.ledger import CreditEntry
    from recall.visits.bookings import BookingRequest, Channel, create_booking
    from tests.factories import future

    with database.writer() as s:
        booking = create_booking(
            s,
            clock,
            people["operator"],
            BookingRequest(
                patient_id=world.a.patients[0].id,
                start_at=future(clock),
                channel=Channel.PHONE,
                service_id=world.a.services[0].id,
            ),
        )
    for statement in (sa.update(CreditEntry).values(amount_cents=1), sa.delete(CreditEntry)):
        with database.writer() as s, pytest.raises(DatabaseError, match="append-only"):
            s.execute(statement.where(CreditEntry.booking_id == booking.id))
    with database.reader() as s:
        assert s.scalars(sa.select(CreditEntry.amount_cents)).all() == [1000]


def test_every_migration_runs_down_and_up_over_a_database_that_holds_data(database, db_url, clock, world):
    """A clinic with staff, patients, bookings and tasks: every migration (SQLite rebuilds a table to alter it,
    and ``clinics`` is referenced by nearly every row) goes down and up again without losing a row, and the
    database still refuses a broken reference afterwards."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    database.dispose()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            before = {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in tables}
        assert before["clinics"] == 2 and before["staff"] > 2 and before["patients"] > 2
        downgrade(engine, "0006")
        upgrade(engine)
        with engine.connect() as conn:
            after = {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in tables}
        # Tables made after 0006 start empty again; every older one keeps all its rows.
        assert {t: n for t, n in after.items() if before[t]} == {t: n for t, n in before.items() if n}
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(
                sa.text(
                    "INSERT INTO staff (clinic_id, name, role, active, created_at) "
                    "VALUES (999999, 'x', 'operator', true, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()
