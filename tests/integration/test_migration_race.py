"""Several processes starting together on an empty database each migrate it, and none of them fails: the first
brings the schema up under the database's lock, the others find it at the latest revision."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from recall.common.db import make_engine
from recall.migrate import alembic_config
from tests.integration.empty_databases import empty_url  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
STARTERS = 3
# Each process imports what it needs first, then waits for the same instant, so the upgrades truly overlap.
MIGRATE = """
import sys, time
from recall.common.db import make_engine
from recall.migrate import upgrade
engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
upgrade(engine)
print("migrated")
"""


@pytest.mark.slow
def test_three_processes_migrating_an_empty_database_at_once_all_succeed_and_leave_one_schema(empty_url):
    start_at = time.time() + 3.0  # after every interpreter has started and imported recall
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, empty_url, str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0 and "migrated" in out, err[-2000:]
    head = ScriptDirectory.from_config(alembic_config(make_engine(empty_url))).get_current_head()
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            assert "bookings" in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
