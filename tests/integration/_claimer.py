"""A claimer in a process of its own, for the kill -9 test in test_queue_concurrency.py.

    python -m tests.integration._claimer --url URL --staff-id N --clinic-id M --at ISO-INSTANT

Claims the next task through ``claim_next`` (clock fixed at ``--at``), prints ``CLAIMED <id>``
(or ``CLAIMED none``), then opens a write transaction and holds it: on SQLite ``BEGIN IMMEDIATE``
(the database's write lock), on PostgreSQL a row lock on the claimed task. It prints ``HOLDING``
(followed, on PostgreSQL, by its server process id)
and sleeps until killed, or until ``--max-seconds`` have passed (it never outlives a test run).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import datetime

import sqlalchemy as sa

from recall.actors import Actor, Role
from recall.clock import FixedClock
from recall.db import Database
from recall.queue import claim_next


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--staff-id", type=int, required=True)
    parser.add_argument("--clinic-id", type=int, required=True)
    parser.add_argument("--at", required=True, help="the claim's instant, ISO 8601 with an offset")
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args(argv)

    stop = threading.Timer(args.max_seconds, lambda: os._exit(5))
    stop.daemon = True
    stop.start()
    db = Database(args.url)
    actor = Actor(staff_id=args.staff_id, clinic_id=args.clinic_id, role=Role.OPERATOR)
    with db.writer() as session:
        task = claim_next(session, FixedClock(datetime.fromisoformat(args.at)), actor).task
    print(f"CLAIMED {task.id if task else 'none'}", flush=True)
    if task is None:
        return 1
    holder = db.new_session(write=True)  # BEGIN IMMEDIATE on SQLite: the write lock is now ours
    holder.execute(sa.text("SELECT id FROM recall_tasks WHERE id = :id"
                           + (" FOR UPDATE" if db.dialect == "postgresql" else "")), {"id": task.id})
    if db.dialect == "sqlite":
        holder.execute(sa.text("UPDATE recall_tasks SET attempt_count = attempt_count WHERE id = :id"),
                       {"id": task.id})
    backend = holder.scalar(sa.text("SELECT pg_backend_pid()")) if db.dialect == "postgresql" else ""
    print(f"HOLDING {backend}".strip(), flush=True)
    while True:  # until SIGKILL (or the timer above)
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
