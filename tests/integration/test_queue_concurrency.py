"""The recall queue under real concurrency: threads and processes, each with its own connection.

The database decides who does the work: however many claimers run at once, every task is
leased to exactly one of them; a claimer that dies mid-work loses its task back to the
queue once its lease lapses; and on PostgreSQL a claimer never waits for another's
transaction (SKIP LOCKED). Every wait here has a timeout, and subprocesses are killed in
``finally``.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language, Patient
from recall.common.actors import Actor, Role
from recall.common.clock import FixedClock
from recall.common.db import Database, make_engine
from recall.queue.attempts import AttemptInput, ContactAttempt, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import CloseReason, RecallTask, TaskReason, TaskStatus
from tests.conftest import T0
from tests.factories import actor_of, make_clinic, make_patient, make_staff, make_task

ROOT = Path(__file__).resolve().parents[2]
TASKS = 10_000
CLAIMERS = {"postgresql": 32, "sqlite": 8}
DRAIN_DEADLINE = 600  # seconds; the drain normally takes far less (see the brief's report)
JOIN_TIMEOUT = 30


@dataclass(frozen=True)
class Claimed:
    task_id: int
    claimer: int
    lease_holder: int | None
    lease_expires_at: datetime | None


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _operators(database: Database, clock: FixedClock, clinic_id: int, n: int) -> list[Actor]:
    return [actor_of(make_staff(database, clock, clinic_id, Role.OPERATOR, name=f"op {i}")[0]) for i in range(n)]


def _bulk_patients(s: Any, clinic_id: int, n: int, *, name: str, phone_prefix: str, now: datetime) -> list[int]:
    """``n`` patients of the clinic by one Core insert; their ids in order."""
    first = (s.scalar(sa.select(sa.func.max(Patient.id))) or 0) + 1
    s.execute(
        sa.insert(cast(sa.Table, Patient.__table__)),
        [
            {
                "clinic_id": clinic_id,
                "full_name": f"{name} {i}",
                "phone_e164": f"{phone_prefix}{i:07d}",
                "language": Language.SV,
                "timezone": None,
                "date_of_birth": None,
                "external_ref": None,
                "consent_sms": True,
                "consent_voice": True,
                "consent_call": True,
                "opted_out": False,
                "opted_out_at": None,
                "phone_invalid": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ],
    )
    return list(s.scalars(sa.select(Patient.id).where(Patient.id >= first).order_by(Patient.id)))


def _bulk_tasks(database: Database, clinic_id: int, n: int, template: dict[str, Any]) -> list[int]:
    """``n`` patients and one open, due task each, by Core inserts; the rows are what the use cases write."""
    now = T0 - timedelta(days=3)
    with database.writer() as s:
        patient_ids = _bulk_patients(s, clinic_id, n, name="Bulk patient", phone_prefix="+4670", now=now)
        first = patient_ids[0]
        assert len(patient_ids) == n
        rows = []
        for i, patient_id in enumerate(patient_ids):
            due = T0 - timedelta(days=2) + timedelta(seconds=i)  # distinct due times, all due by T0
            rows.append(
                {
                    **template,
                    "clinic_id": clinic_id,
                    "patient_id": patient_id,
                    "due_at": due,
                    "rank_at": due,
                    "created_at": now,
                }
            )
        s.execute(sa.insert(cast(sa.Table, RecallTask.__table__)), rows)
        ids = list(s.scalars(sa.select(RecallTask.id).where(RecallTask.patient_id >= first)))
        s.commit()
    assert len(ids) == n
    return ids


def _template_from_a_real_task(database: Database, clock: FixedClock, clinic_id: int) -> tuple[int, dict[str, Any]]:
    """One task through ``open_task``: its columns (but the per-row ones) are the bulk rows' template."""
    patient = make_patient(database, clock, clinic_id, full_name="Reference Patient")
    task = make_task(database, clock, clinic_id, patient.id, due_at=T0 - timedelta(days=3))
    per_row = {"id", "clinic_id", "patient_id", "due_at", "rank_at", "created_at"}
    columns = [c.key for c in RecallTask.__table__.columns if c.key not in per_row]
    template = {key: getattr(task, key) for key in columns}
    assert template["status"] is TaskStatus.OPEN and template["reason"] is TaskReason.UNDECIDED
    assert template["value_weight"] == 1.0 and template["failed_attempts"] == 0
    assert template["attempt_count"] == 0 and template["lease_holder_id"] is None
    return task.id, template


def _run_threads(targets: list[Callable[[], None]], timeout: float) -> list[BaseException]:
    errors: list[BaseException] = []
    lock = threading.Lock()

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        errors.append(TimeoutError(f"{stuck} claimer threads still running after {timeout} s"))
    return errors


def _drainer(
    shared: Database | None,
    url: str,
    clock: FixedClock,
    me: Actor,
    out: list[Claimed],
    start: threading.Barrier,
    deadline: float,
) -> Callable[[], None]:
    def drain() -> None:
        db = shared or Database(url, pool_size=1, max_overflow=0)  # else: this claimer's own engine
        try:
            start.wait(JOIN_TIMEOUT)
            while time.monotonic() < deadline:
                with db.writer() as s:
                    task = claim_next(s, clock, me).task
                    if task is None:
                        return
                    out.append(Claimed(task.id, me.staff_id, task.lease_holder_id, task.lease_expires_at))
                with db.writer() as s:
                    log_attempt(s, clock, me, task.id, AttemptInput(outcome=Outcome.DECLINED, decline_reason="no"))
            raise TimeoutError("the queue was not drained before the deadline")
        finally:
            if shared is None:
                db.dispose()

    return drain


@pytest.mark.slow
@pytest.mark.timeout(DRAIN_DEADLINE + 2 * JOIN_TIMEOUT + 60)
def test_many_claimers_drain_the_queue_and_each_task_is_claimed_exactly_once(database, db_url, clock):
    """Each claimer has its own connection. On PostgreSQL each also has its own engine, as separate
    processes would. On SQLite they share one engine (pool >= claimers), as the threads of one web
    process do: there its writer lock queues them, while separate engines fall back to SQLite's
    polling busy handler, which starved some claimers past the 10 s busy timeout ("database is
    locked") in a trial run. Separate processes on SQLite are the killed-claimer test's business."""
    n_claimers = CLAIMERS[_dialect(db_url)]
    clinic = make_clinic(database, clock)
    claimers = _operators(database, clock, clinic.id, n_claimers)
    reference_id, template = _template_from_a_real_task(database, clock, clinic.id)
    t_load = time.perf_counter()
    task_ids = {reference_id, *_bulk_tasks(database, clinic.id, TASKS, template)}
    load_seconds = time.perf_counter() - t_load

    logs: list[list[Claimed]] = [[] for _ in claimers]
    start = threading.Barrier(n_claimers)
    deadline = time.monotonic() + DRAIN_DEADLINE
    shared = Database(db_url, pool_size=n_claimers, max_overflow=0) if _dialect(db_url) == "sqlite" else None
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        errors = _run_threads(
            [_drainer(shared, db_url, clock, me, log, start, deadline) for me, log in zip(claimers, logs, strict=True)],
            DRAIN_DEADLINE + JOIN_TIMEOUT,
        )
    finally:
        if shared is not None:
            shared.dispose()
    drain_seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    print(
        f"\n{_dialect(db_url)}: {len(task_ids)} tasks loaded in {load_seconds:.1f} s, drained by {n_claimers} "
        f"claimers in {drain_seconds:.1f} s ({len(task_ids) / drain_seconds:.0f} claims+closes/s; this process "
        f"{1000 * cpu_seconds / len(task_ids):.1f} ms CPU per claim+close; load average {os.getloadavg()[0]:.1f})"
    )
    assert errors == []

    claimed = [c for log in logs for c in log]
    counts = collections.Counter(c.task_id for c in claimed)
    assert [task for task, n in counts.items() if n > 1] == []  # no task leased twice
    assert set(counts) == task_ids  # none missed
    assert [
        c
        for c in claimed
        if c.lease_holder != c.claimer or c.lease_expires_at is None or c.lease_expires_at <= clock.now()
    ] == []  # every claim held its own, live lease
    with database.reader() as s:
        ends = dict(
            s.execute(
                sa.select(RecallTask.status, sa.func.count())
                .where(RecallTask.clinic_id == clinic.id)
                .group_by(RecallTask.status)
            ).all()
        )
        assert ends == {TaskStatus.CLOSED: len(task_ids)}
        assert s.scalar(
            sa.select(sa.func.count())
            .select_from(RecallTask)
            .where(
                RecallTask.clinic_id == clinic.id,
                RecallTask.close_reason == CloseReason.DECLINED,
                RecallTask.lease_holder_id.is_(None),
            )
        ) == len(task_ids)
        attempts = collections.Counter(
            (r.task_id, r.staff_id) for r in s.execute(sa.select(ContactAttempt.task_id, ContactAttempt.staff_id))
        )
    assert attempts == collections.Counter((c.task_id, c.claimer) for c in claimed)  # closed by their claimer


# --- a claimer killed by SIGKILL ------------------------------------------------------------------------------------


class Lines:
    """A subprocess's stdout, a line at a time with a timeout (a reader thread feeds a queue)."""

    def __init__(self, proc: subprocess.Popen[str]):
        assert proc.stdout is not None
        self.proc, self.lines = proc, queue.Queue[str]()
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        self.lines.put("")  # end of output

    def next(self, timeout: float = 60) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output from the claimer process within {timeout} s") from None
        if not line:
            raise RuntimeError(f"the claimer process ended early (exit code {self.proc.poll()})")
        return line


@pytest.fixture
def claimer_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration._claimer", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def _write_at_once(url: str) -> float:
    """Seconds one small write transaction takes with a 0.5 s busy timeout (it fails if a lock is held)."""
    engine = make_engine(url, busy_timeout_ms=500)
    try:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE clinics SET name = name")
        return time.perf_counter() - t0
    finally:
        engine.dispose()


def _await_backend_gone(database: Database, pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with database.reader() as s:
            if not s.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"PostgreSQL backend {pid} of the killed claimer still alive after {timeout} s")
        time.sleep(0.02)


def test_a_claimer_killed_mid_work_loses_its_task_back_to_the_queue_once_its_lease_lapses(
    database, db_url, clock, claimer_process
):
    clinic = make_clinic(database, clock)
    with database.writer() as s:
        s.execute(sa.update(Clinic).where(Clinic.id == clinic.id).values(recall_lease_minutes=1))
        s.commit()
    doomed, survivor = _operators(database, clock, clinic.id, 2)
    task = make_task(
        database, clock, clinic.id, make_patient(database, clock, clinic.id).id, due_at=T0 - timedelta(hours=1)
    )

    proc = claimer_process(
        "--url", db_url, "--staff-id", str(doomed.staff_id), "--clinic-id", str(clinic.id), "--at", T0.isoformat()
    )
    out = Lines(proc)
    assert out.next() == f"CLAIMED {task.id}"
    holding, _, backend = out.next().partition(" ")
    assert holding == "HOLDING"  # mid-transaction: SQLite's write lock, or PostgreSQL's row lock
    if _dialect(db_url) == "sqlite":
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            _write_at_once(db_url)  # the lock is real while the process lives
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL

    if backend:
        _await_backend_gone(database, int(backend))  # the server ends the dead client's transaction
    assert _write_at_once(db_url) < 0.5  # the dead process left no lock behind
    with database.reader() as s:
        row = s.get(RecallTask, task.id)
        assert row is not None
        assert (row.lease_holder_id, row.lease_expires_at) == (doomed.staff_id, T0 + timedelta(minutes=1))
    with database.writer() as s:
        assert claim_next(s, FixedClock(T0 + timedelta(seconds=59)), survivor).task is None
    with database.writer() as s:
        again = claim_next(s, FixedClock(T0 + timedelta(seconds=61)), survivor).task
        assert again is not None and again.id == task.id
        assert again.lease_holder_id == survivor.staff_id


# --- PostgreSQL: SKIP LOCKED --------------------------------------------------------------------------------------

pg_only = pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs TEST_POSTGRES_URL")


@pg_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_claimers_racing_for_one_due_task_exactly_one_gets_it(database, db_url, clock):
    clinic = make_clinic(database, clock)
    first, second = _operators(database, clock, clinic.id, 2)
    engines = {me.staff_id: Database(db_url, pool_size=1, max_overflow=0) for me in (first, second)}
    try:
        for round_ in range(20):
            task = make_task(
                database,
                clock,
                clinic.id,
                make_patient(database, clock, clinic.id).id,
                due_at=T0 - timedelta(minutes=round_ + 1),
            )
            start = threading.Barrier(2)
            got: dict[int, int | None] = {}

            def claim(
                me: Actor, start: threading.Barrier = start, got: dict[int, int | None] = got
            ) -> Callable[[], None]:
                def run() -> None:
                    start.wait(JOIN_TIMEOUT)
                    with engines[me.staff_id].writer() as s:
                        claimed = claim_next(s, clock, me).task
                        got[me.staff_id] = claimed.id if claimed else None

                return run

            assert _run_threads([claim(first), claim(second)], JOIN_TIMEOUT) == []
            assert sorted(got.values(), key=str) == sorted([task.id, None], key=str), f"round {round_}: {got}"
            winner = first if got[first.staff_id] == task.id else second
            with database.writer() as s:
                log_attempt(s, clock, winner, task.id, AttemptInput(outcome=Outcome.DECLINED, decline_reason="no"))
    finally:
        for db in engines.values():
            db.dispose()


@pg_only
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_claim_skips_a_task_another_claim_is_taking_instead_of_waiting_for_it(database, db_url, clock):
    clinic = make_clinic(database, clock)
    first, second = _operators(database, clock, clinic.id, 2)
    task = make_task(
        database, clock, clinic.id, make_patient(database, clock, clinic.id).id, due_at=T0 - timedelta(minutes=5)
    )
    slow = Database(db_url, pool_size=1, max_overflow=0)
    locked, go = threading.Event(), threading.Event()

    @event.listens_for(slow.engine, "after_cursor_execute")
    def pause_after_locking(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("UPDATE recall_tasks SET lease_holder_id") and not locked.is_set():
            locked.set()  # the first claim's transaction now holds the task's row lock, uncommitted ...
            go.wait(JOIN_TIMEOUT)  # ... and keeps it until the second claim has had its turn

    got: list[int | None] = []

    def first_claim() -> None:
        with slow.writer() as s:
            claimed = claim_next(s, clock, first).task
            got.append(claimed.id if claimed else None)

    holder = threading.Thread(target=first_claim, daemon=True)
    holder.start()
    try:
        assert locked.wait(JOIN_TIMEOUT)
        t0 = time.perf_counter()
        with database.writer() as s:
            s.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a blocked claim would fail, not hang
            assert claim_next(s, clock, second).task is None
        assert time.perf_counter() - t0 < 1.0  # skipped at once, not waited for
    finally:
        go.set()
        holder.join(JOIN_TIMEOUT)
        slow.dispose()
    assert not holder.is_alive()
    assert got == [task.id]
    with database.reader() as s:
        row = s.get(RecallTask, task.id)
        assert row is not None and row.lease_holder_id == first.staff_id
