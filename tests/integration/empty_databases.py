"""Empty databases for the tests that start processes on one: a SQLite file, or a PostgreSQL database of its own
(created for the test and dropped after it, beside the suite's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from recall.common.db import make_engine
from tests.conftest import PG_URL

KINDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _admin(statement: str) -> None:
    admin = make_engine(PG_URL or "").execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        admin.dispose()


@pytest.fixture(params=KINDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema at all), of each kind the suite runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    parts = urlsplit(PG_URL or "")
    name = f"{parts.path.lstrip('/') or 'test'}_empty_{os.getpid()}_{request.node.name[:20]}".lower()
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
