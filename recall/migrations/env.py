"""Alembic environment: runs against the engine handed over by ``recall.migrate``,
or against ``DATABASE_URL`` when the ``alembic`` command is used directly."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

import recall.models  # noqa: F401  (registers every table on the metadata)
from recall.common.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _pragma(connection: Connection, setting: str) -> None:
    """Straight to the driver, outside any transaction: our engine emits its own BEGIN for every statement
    SQLAlchemy runs, and SQLite ignores this pragma inside one."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {setting}")
    finally:
        cursor.close()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(os.environ.get("DATABASE_URL", "sqlite:///recall.db"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename). With foreign keys on, dropping a table that
            # other rows reference fails, so a migration altering ``clinics`` could never run on a database
            # that holds data. SQLite ignores this pragma inside a transaction: set it before the first one,
            # and check every reference before the migration commits.
            _pragma(connection, "foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration would leave {len(broken)} broken references")
            if connection.in_transaction():  # Alembic leaves the outer transaction to its owner: us
                connection.commit()
        finally:
            if connection.in_transaction():
                connection.rollback()
            if sqlite:
                _pragma(connection, "foreign_keys=ON")


run_migrations_online()
