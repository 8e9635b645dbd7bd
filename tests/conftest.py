"""Fixtures shared by every test.

Database-backed tests run once per configured database: SQLite always, and
PostgreSQL too when TEST_POSTGRES_URL is set (``.ci/run`` sets it). The schema
comes from the Alembic migrations, never from ``create_all``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from recall.clock import FixedClock
from recall.db import Base, Database, make_engine
from recall.migrate import upgrade
pytest.register_assert_rewrite("tests.api.checks", "tests.factories")
from recall.actors import Actor  # noqa: E402
from tests.factories import World, actor_of, make_world  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
# A Monday morning in Stockholm, far from any DST change.
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    assert PG_URL
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    engine.dispose()
    return PG_URL


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "recall.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def app(database: Database, clock: FixedClock) -> Flask:
    return __import__("recall.web", fromlist=["create_app"]).create_app("test", clock=clock, database=database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(database: Database, clock: FixedClock) -> World:
    """Two clinics: "a" with a manager, two front-desk admins, two operators, providers, services and
    patients; "b" with its own manager, front desk, operator and patient, to prove isolation."""
    return make_world(database, clock)


@pytest.fixture
def people(world: World) -> dict[str, Actor]:
    """Clinic a's staff as actors, by the names the world gives them."""
    return {key: actor_of(member) for key, member in world.a.staff.items()}
