"""Alembic environment: runs against the engine handed over by ``recall.migrate``,
or against ``DATABASE_URL`` when the ``alembic`` command is used directly.

Several processes may start together on one database (web workers, ``recall worker``s, a release step): each
migrates under a database lock, so one brings the schema up and the others, once they get the lock, find it at
the latest revision and do nothing. On PostgreSQL the lock is a session advisory lock; on SQLite the migration's
transaction is BEGIN IMMEDIATE, taking the database's one write lock before it reads the schema's version (a
deferred transaction that had read it would be refused its first write once another process had written).
"""

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


# The advisory lock's key on PostgreSQL: any constant of our own ("recall" as a number).
MIGRATION_LOCK = 0x726563616C6C


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(os.environ.get("DATABASE_URL", "sqlite:///recall.db"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Our engine begins a writer's transaction with BEGIN IMMEDIATE (recall.common.db).
            connection = connection.execution_options(recall_write=True)
            # Batch mode rebuilds a table (copy, drop, rename). With foreign keys on, dropping a table that
            # other rows reference fails, so a migration altering ``clinics`` could never run on a database
            # that holds data. SQLite ignores this pragma inside a transaction: set it before the first one,
            # and check every reference before the migration commits.
            _pragma(connection, "foreign_keys=OFF")
        else:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            # One transaction for the whole upgrade, on SQLite too (which runs DDL in a transaction; Alembic's
            # default there is a transaction per step): the lock is taken once, and a failed upgrade leaves the
            # schema where it was.
            transactional_ddl=True,
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
            else:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                connection.commit()


run_migrations_online()
