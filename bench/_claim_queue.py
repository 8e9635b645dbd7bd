"""The queue for bench_claim.py: a clinic, its operators and a large backlog of due tasks, and the claim loops.

The clinic, its operators and their tokens come from the use cases; patients and their open
tasks are bulk-loaded (executemany on SQLite, COPY on PostgreSQL, through ``_ledger.BulkTable``,
which checks the stored form against SQLAlchemy's own) with the values ``open_task`` writes:
status open, rank_at = due_at, value weight 1.0, no attempts, no lease.

Not a benchmark itself; bench_claim.py imports it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
from _common import HOST, BenchDatabase, Latencies
from _ledger import PATIENT_COLS, BulkTable

from recall.clinic.clinics import Clinic, ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import create_staff, issue_token
from recall.common.actors import Actor, Role
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus

UTC = UTC
TASK_COLS = [
    "clinic_id",
    "patient_id",
    "reason",
    "status",
    "due_at",
    "created_at",
    "value_weight",
    "rank_at",
    "attempt_count",
    "failed_attempts",
]
CHUNK = 20_000


@dataclass
class Operator:
    actor: Actor
    token: str


class QueueWorld:
    """One clinic calling the whole day (so the time of day never matters), operators, and due tasks."""

    def __init__(self, bdb: BenchDatabase, n_operators: int, clinic_id: int | None = None):
        """A new clinic, or (``clinic_id``) an existing one, set to call the whole day."""
        self.bdb, self.db = bdb, bdb.db
        self.clock = SystemClock()
        with self.db.writer() as s:
            if clinic_id is None:
                clinic_id = create_clinic(
                    s,
                    self.clock,
                    ClinicInput(
                        name=f"Claim bench {time.time_ns()}",
                        timezone="Europe/Stockholm",
                        phone_region="SE",
                        currency="SEK",
                    ),
                ).id
            self.clinic_id = clinic_id
            s.execute(
                sa.update(Clinic)
                .where(Clinic.id == clinic_id)
                .values(
                    calling_weekday_start=0, calling_weekday_end=1440, calling_weekend_start=0, calling_weekend_end=1440
                )
            )
            s.commit()
        self.operators: list[Operator] = []
        for i in range(n_operators):
            with self.db.writer() as s:
                member = create_staff(s, self.clock, Actor.system(clinic_id), name=f"Operator {i}", role=Role.OPERATOR)
                token = issue_token(s, self.clock, member, "bench").secret
                self.operators.append(Operator(Actor(member.id, clinic_id, Role.OPERATOR), token))

    def load_tasks(self, n: int, rng: random.Random) -> None:
        """``n`` patients with one open task each, due at random times in the past 30 days."""
        engine, now = self.db.engine, self.clock.now()
        sqlite = engine.dialect.name == "sqlite"
        patients = BulkTable(engine, Patient.__table__, PATIENT_COLS)
        tasks = BulkTable(engine, RecallTask.__table__, TASK_COLS)
        tag = rng.randrange(10**6)
        raw = engine.raw_connection()
        try:
            if sqlite:
                raw.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            first = raw.cursor()
            first.execute("SELECT coalesce(max(id), 0) FROM patients")
            first_id = int(first.fetchone()[0]) + 1
            for start in range(0, n, CHUNK):
                patients.write(
                    raw.driver_connection,
                    [
                        (
                            self.clinic_id,
                            f"Queue patient {start + i}",
                            f"+4670{(tag + start + i) % 10**7:07d}",
                            Language.SV,
                            True,
                            True,
                            True,
                            False,
                            False,
                            now,
                            now,
                        )
                        for i in range(min(CHUNK, n - start))
                    ],
                )
            cur = raw.cursor()
            cur.execute(
                f"SELECT id FROM patients WHERE clinic_id = {int(self.clinic_id)} AND id >= {first_id} ORDER BY id"
            )
            patient_ids = [row[0] for row in cur.fetchall()]
            assert len(patient_ids) == n, (len(patient_ids), n)
            for start in range(0, n, CHUNK):
                rows = []
                for pid in patient_ids[start : start + CHUNK]:
                    due = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
                    rows.append((self.clinic_id, pid, TaskReason.UNDECIDED, TaskStatus.OPEN, due, due, 1.0, due, 0, 0))
                tasks.write(raw.driver_connection, rows)
            raw.commit()
        finally:
            raw.close()

    def settle(self) -> str:
        """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon after a bulk load. SQLite: nothing (recall
        never runs ANALYZE there)."""
        if self.db.dialect != "postgresql":
            return "no ANALYZE (recall never runs it on SQLite)"
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return "VACUUM ANALYZE"

    def open_due(self) -> int:
        with self.db.reader() as s:
            return (
                s.scalar(
                    sa.select(sa.func.count())
                    .select_from(RecallTask)
                    .where(RecallTask.clinic_id == self.clinic_id, RecallTask.status == TaskStatus.OPEN)
                )
                or 0
            )


# --------------------------------------------------------------------------- closed-loop runs


@dataclass
class Run:
    """One phase: ``concurrency`` workers, each looping until the count or the time is used up."""

    name: str
    latencies: Latencies = field(default_factory=Latencies)
    claimed: list[int] = field(default_factory=list)
    loops: int = 0
    loop_seconds: float = 0.0  # summed over workers: the whole turn, claim and close
    empty: int = 0  # claims that found nothing to hand out
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU (all threads) during the phase
    stopped_by_time: bool = False

    @property
    def rate(self) -> float:
        """Timed calls (claims, or baseline operations) per second; a claim loop is one claim and one close."""
        return self.loops / self.wall_seconds if self.wall_seconds else float("nan")

    @property
    def timed_share(self) -> float:
        """The share of a loop's time spent in the timed call (the claim), the rest closing the task."""
        return sum(self.latencies.seconds) / self.loop_seconds if self.loop_seconds else float("nan")


# One turn of a worker's loop: (seconds of the timed call, the task id it claimed or None, seconds of the turn).
Step = Callable[[], tuple[float, int | None, float]]


def run_phase(
    name: str,
    make_step: Callable[[int], Step],
    *,
    concurrency: int,
    count: int,
    max_seconds: float,
    claims: bool,
    think_seconds: float = 0.0,
) -> Run:
    """Run ``count`` steps in all from ``concurrency`` threads (each builds its own step: its own session
    factory, HTTP session, operator), stopping early after ``max_seconds``. ``think_seconds``: a pause
    after each step (an operator on the phone), so the claimers do not saturate the machine."""
    run = Run(name)
    lock = threading.Lock()
    remaining = [count]
    barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        try:
            step = make_step(i)
        except Exception as exc:
            with lock:
                run.errors.append(f"setup: {type(exc).__name__}: {exc}")
            barrier.wait(60)
            return
        lat: list[float] = []
        ids: list[int] = []
        errors: list[str] = []
        loops = empty = 0
        loop_seconds = 0.0
        barrier.wait(60)
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            if time.monotonic() > deadline[0]:
                run.stopped_by_time = True
                break
            try:
                seconds, task_id, turn = step()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
                continue
            loops += 1
            loop_seconds += turn
            lat.append(seconds)
            if task_id is not None:
                ids.append(task_id)
            elif claims:
                empty += 1
            if think_seconds:
                time.sleep(think_seconds * random.uniform(0.5, 1.5))
        with lock:
            run.latencies.seconds.extend(lat)
            run.claimed.extend(ids)
            run.errors.extend(errors)
            run.loops += loops
            run.loop_seconds += loop_seconds
            run.empty += empty

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + max_seconds
    barrier.wait(120)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join(max_seconds + 120)
    run.wall_seconds = time.perf_counter() - t0
    run.cpu_seconds = time.process_time() - cpu0
    return run


# --------------------------------------------------------------------------- the steps


def use_case_claim(db: Database, world: QueueWorld) -> Callable[[int], Step]:
    """claim_next through a writer session, timed alone; then log_attempt DECLINED closes the task."""
    from recall.queue.attempts import AttemptInput, Outcome, log_attempt
    from recall.queue.claims import claim_next

    def make(i: int) -> Step:
        me = world.operators[i].actor
        declined = AttemptInput(outcome=Outcome.DECLINED, decline_reason="bench")

        def step() -> tuple[float, int | None, float]:
            start = time.perf_counter()
            with db.writer() as s:
                t0 = time.perf_counter()
                task = claim_next(s, world.clock, me).task
                seconds = time.perf_counter() - t0
            if task is None:
                return seconds, None, time.perf_counter() - start
            with db.writer() as s:
                log_attempt(s, world.clock, me, task.id, declined)
            return seconds, task.id, time.perf_counter() - start

        return step

    return make


def use_case_baseline(db: Database, scratch: sa.Table, row_ids: list[int]) -> Callable[[int], Step]:
    """The same session machinery, one plain UPDATE of the worker's own row by primary key, and COMMIT."""

    def make(i: int) -> Step:
        row_id = row_ids[i]

        def step() -> tuple[float, int | None, float]:
            start = time.perf_counter()
            with db.writer() as s:
                t0 = time.perf_counter()
                s.execute(scratch.update().where(scratch.c.id == row_id).values(created_at=datetime.now(UTC)))
                s.commit()
                seconds = time.perf_counter() - t0
            return seconds, None, time.perf_counter() - start

        return step

    return make


def http_claim(port: int, world: QueueWorld) -> Callable[[int], Step]:
    """POST /recall-queue/claim (timed), then POST the declined attempt; a keep-alive session per worker."""
    base = f"http://{HOST}:{port}/api/v1"

    def make(i: int) -> Step:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {world.operators[i].token}"

        def step() -> tuple[float, int | None, float]:
            t0 = time.perf_counter()
            resp = http.post(f"{base}/recall-queue/claim", timeout=60)
            seconds = time.perf_counter() - t0
            if resp.status_code != 200:
                raise RuntimeError(f"claim: {resp.status_code} {resp.text[:200]}")
            task: dict[str, Any] | None = resp.json()["task"]
            if task is None:
                return seconds, None, seconds
            done = http.post(
                f"{base}/recall-tasks/{task['id']}/attempts",
                timeout=60,
                json={"outcome": "declined", "decline_reason": "bench"},
            )
            if done.status_code != 201:
                raise RuntimeError(f"attempt: {done.status_code} {done.text[:200]}")
            return seconds, int(task["id"]), time.perf_counter() - t0

        return step

    return make


def http_baseline(port: int) -> Callable[[int], Step]:
    """GET /readyz on the same server: the whole stack plus SELECT 1."""

    def make(_i: int) -> Step:
        http = requests.Session()

        def step() -> tuple[float, int | None, float]:
            t0 = time.perf_counter()
            resp = http.get(f"http://{HOST}:{port}/readyz", timeout=60)
            seconds = time.perf_counter() - t0
            if resp.status_code != 200:
                raise RuntimeError(f"readyz: {resp.status_code}")
            return seconds, None, seconds

        return step

    return make
