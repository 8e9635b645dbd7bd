"""Claimers in a process of their own, for test_queue_concurrency.py and test_patient_claims_concurrency.py.

    python -m tests.integration._claimer --url URL --staff-id N --clinic-id M --at ISO-INSTANT
    python -m tests.integration._claimer --url URL --staff-ids N,N2,... --clinic-id M --at ISO-INSTANT --drain

With ``--drain``, one thread per staff id works patients until the queue is empty (``work_patients``):
each claim is printed as ``CLAIM <json>`` (holder, patient, tasks, the hold window on the system's
monotonic clock, shared by every process), then ``DONE``; an error prints ``ERROR <type>``.

Without it, a claimer for the kill -9 test:
Claims the next task through ``claim_next`` (clock fixed at ``--at``), prints ``CLAIMED <id>``
(or ``CLAIMED none``), then opens a write transaction and holds it: on SQLite ``BEGIN IMMEDIATE``
(the database's write lock), on PostgreSQL a row lock on the claimed task. It prints ``HOLDING``
(followed, on PostgreSQL, by its server process id)
and sleeps until killed, or until ``--max-seconds`` have passed (it never outlives a test run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import recall.models  # noqa: F401 - every table, as the app loads them (foreign keys resolve across aggregates)
from recall.common.actors import Actor, Role
from recall.common.clock import Clock, FixedClock
from recall.common.db import Database
from recall.queue.attempts import AttemptInput, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import RecallTask

HOLD_SECONDS = 0.003  # how long a claimer holds a patient before settling: wide enough for a race to show


def work_patients(
    db: Database,
    clock: Clock,
    me: Actor,
    deadline: float,
    record: Callable[[dict[str, Any]], None],
    hold: float = HOLD_SECONDS,
) -> None:
    """Claim, look at what the database says about the patient while holding them, settle every claimed task
    (one declined attempt each), until nothing is left. ``record`` gets one dict per claim; the window
    ``t0``..``t1`` (monotonic) lies wholly inside the time the claim's leases were live and committed."""
    while time.monotonic() < deadline:
        with db.writer() as s:
            claim = claim_next(s, clock, me)
        if claim.task is None:
            return
        t0 = time.monotonic()  # the claim has committed: from here, this holder's leases are live
        patient = claim.task.patient_id
        with db.reader() as s:
            holders = sorted(
                set(
                    s.scalars(
                        sa.select(RecallTask.lease_holder_id).where(
                            RecallTask.patient_id == patient, RecallTask.lease_expires_at > clock.now()
                        )
                    )
                )
            )
        time.sleep(hold)
        tasks = [t.id for t in claim.tasks]
        t1 = time.monotonic()  # nothing settled yet: every lease of the claim is still live
        for task_id in tasks:
            with db.writer() as s:
                log_attempt(s, clock, me, task_id, AttemptInput(outcome=Outcome.DECLINED, decline_reason="no"))
        record({"holder": me.staff_id, "patient": patient, "tasks": tasks, "holders_seen": holders, "t0": t0, "t1": t1})
    raise TimeoutError("the queue was not drained before the deadline")


def _drain(args: argparse.Namespace) -> int:
    db = Database(args.url, pool_size=len(args.staff_ids), max_overflow=0)
    clock = FixedClock(datetime.fromisoformat(args.at))
    deadline = time.monotonic() + args.max_seconds - 5
    lock = threading.Lock()
    failed: list[str] = []

    def record(claim: dict[str, Any]) -> None:
        with lock:
            print("CLAIM " + json.dumps(claim), flush=True)

    def run(staff_id: int) -> None:
        try:
            work_patients(
                db, clock, Actor(staff_id=staff_id, clinic_id=args.clinic_id, role=Role.OPERATOR), deadline, record
            )
        except BaseException as exc:
            with lock:
                failed.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in args.staff_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline + 5 - time.monotonic()))
    db.dispose()
    print(f"ERROR {' '.join(failed)}" if failed else "DONE", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--staff-id", type=int)
    parser.add_argument("--staff-ids", type=lambda v: [int(i) for i in v.split(",")])
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--clinic-id", type=int, required=True)
    parser.add_argument("--at", required=True, help="the claim's instant, ISO 8601 with an offset")
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args(argv)

    stop = threading.Timer(args.max_seconds, lambda: os._exit(5))
    stop.daemon = True
    stop.start()
    if args.drain:
        return _drain(args)
    db = Database(args.url)
    actor = Actor(staff_id=args.staff_id, clinic_id=args.clinic_id, role=Role.OPERATOR)
    with db.writer() as session:
        task = claim_next(session, FixedClock(datetime.fromisoformat(args.at)), actor).task
    print(f"CLAIMED {task.id if task else 'none'}", flush=True)
    if task is None:
        return 1
    holder = db.new_session(write=True)  # BEGIN IMMEDIATE on SQLite: the write lock is now ours
    holder.execute(
        sa.text("SELECT id FROM recall_tasks WHERE id = :id" + (" FOR UPDATE" if db.dialect == "postgresql" else "")),
        {"id": task.id},
    )
    if db.dialect == "sqlite":
        holder.execute(sa.text("UPDATE recall_tasks SET attempt_count = attempt_count WHERE id = :id"), {"id": task.id})
    backend = holder.scalar(sa.text("SELECT pg_backend_pid()")) if db.dialect == "postgresql" else ""
    print(f"HOLDING {backend}".strip(), flush=True)
    while True:  # until SIGKILL (or the timer above)
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
