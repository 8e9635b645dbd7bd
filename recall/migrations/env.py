"""Alembic environment: runs against the engine handed over by ``recall.migrate``,
or against ``DATABASE_URL`` when the ``alembic`` command is used directly."""

from __future__ import annotations

import os

from alembic import context

import recall.models  # noqa: F401  (registers every table on the metadata)
from recall.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(os.environ.get("DATABASE_URL", "sqlite:///recall.db"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
