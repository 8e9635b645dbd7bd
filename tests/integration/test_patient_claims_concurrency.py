"""One patient, one operator, under load: many patients with several tasks each, 32 claimers in threads and in
processes, on every configured database; no instant where two live leases name one patient."""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa

from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.queue.attempts import ContactAttempt
from recall.queue.tasks import SERVICE_HEAD_START, CloseReason, RecallTask, TaskReason, TaskStatus
from tests.conftest import T0
from tests.factories import make_clinic
from tests.integration._claimer import work_patients
from tests.integration.test_queue_concurrency import (  # noqa: F401 - claimer_process is a fixture
    DRAIN_DEADLINE,
    JOIN_TIMEOUT,
    Lines,
    _bulk_patients,
    _dialect,
    _operators,
    _run_threads,
    _template_from_a_real_task,
    claimer_process,
)

# --- one patient, one operator: many patients with several tasks each -------------------------------------------

PATIENTS = 250
PATIENT_CLAIMERS = 32
WINBACK = (TaskReason.UNDECIDED, TaskReason.DECLINED, TaskReason.NO_SHOW)


def _patients_with_several_tasks(
    database: Database, clinic_id: int, n: int, template: dict[str, Any]
) -> dict[int, set[int]]:
    """``n`` patients, each with three due win-back tasks next to each other in the queue (so concurrent claimers
    meet at one patient), and every fifth also with a request of theirs; by Core inserts. Patient -> task ids."""
    now = T0 - timedelta(days=3)
    with database.writer() as s:
        patient_ids = _bulk_patients(s, clinic_id, n, name="Busy patient", phone_prefix="+4671", now=now)
        first = patient_ids[0]
        rows = []
        for i, patient_id in enumerate(patient_ids):
            for j, reason in enumerate(WINBACK):
                due = T0 - timedelta(days=2) + timedelta(seconds=3 * i + j)
                rows.append(
                    {
                        **template,
                        "clinic_id": clinic_id,
                        "patient_id": patient_id,
                        "reason": reason,
                        "due_at": due,
                        "rank_at": due,
                        "created_at": now,
                    }
                )
            if i % 5 == 0:
                due = T0 - timedelta(hours=1)
                rows.append(
                    {
                        **template,
                        "clinic_id": clinic_id,
                        "patient_id": patient_id,
                        "created_at": now,
                        "reason": TaskReason.PATIENT_REQUEST,
                        "request_text": "Please call me",
                        "due_at": due,
                        "rank_at": due - SERVICE_HEAD_START,
                    }
                )
        s.execute(sa.insert(cast(sa.Table, RecallTask.__table__)), rows)
        tasks: dict[int, set[int]] = collections.defaultdict(set)
        for task_id, patient_id in s.execute(
            sa.select(RecallTask.id, RecallTask.patient_id).where(RecallTask.patient_id >= first)
        ):
            tasks[patient_id].add(task_id)
        s.commit()
    assert len(tasks) == n
    return dict(tasks)


class LeaseWatch:
    """Samples the database while the claimers run: any patient whose tasks carry live leases of two holders."""

    def __init__(self, database: Database, clock: FixedClock):
        self.database, self.clock = database, clock
        self.samples, self.doubled = 0, set[int]()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = (
            sa.select(RecallTask.patient_id)
            .where(RecallTask.lease_expires_at > self.clock.now())
            .group_by(RecallTask.patient_id)
            .having(sa.func.count(sa.distinct(RecallTask.lease_holder_id)) > 1)
        )
        while not self.stop.is_set():
            with self.database.reader() as s:
                self.doubled.update(s.scalars(query))
            self.samples += 1
            self.stop.wait(0.005)

    def __enter__(self) -> LeaseWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(JOIN_TIMEOUT)


def _assert_one_operator_per_patient(
    claims: list[dict[str, Any]], tasks: dict[int, set[int]], database: Database, clinic_id: int
) -> None:
    # While a claimer held a patient, the database showed no other holder's live lease on them.
    assert [c for c in claims if c["holders_seen"] != [c["holder"]]] == []
    # No instant where two holders held one patient: their hold windows never overlap.
    by_patient: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for c in claims:
        by_patient[c["patient"]].append(c)
    overlaps = [
        (p, a["holder"], b["holder"])
        for p, cs in by_patient.items()
        for i, a in enumerate(cs)
        for b in cs[i + 1 :]
        if a["holder"] != b["holder"] and a["t0"] < b["t1"] and b["t0"] < a["t1"]
    ]
    assert overlaps == []
    # The claim handed out the patient's work together: each patient came up once, with every task of theirs.
    assert {p: len(cs) for p, cs in by_patient.items() if len(cs) != 1} == {}
    assert {c["patient"]: set(c["tasks"]) for c in claims} == tasks
    with database.reader() as s:
        assert dict(
            s.execute(
                sa.select(RecallTask.status, sa.func.count())
                .where(RecallTask.clinic_id == clinic_id, RecallTask.patient_id.in_(tasks))
                .group_by(RecallTask.status)
            ).all()
        ) == {TaskStatus.CLOSED: sum(len(t) for t in tasks.values())}
        attempts = collections.Counter(
            (r.task_id, r.staff_id) for r in s.execute(sa.select(ContactAttempt.task_id, ContactAttempt.staff_id))
        )
    assert attempts == collections.Counter((t, c["holder"]) for c in claims for t in c["tasks"])


def _busy_queue(database: Database, clock: FixedClock, n_patients: int) -> tuple[int, list[Actor], dict[int, set[int]]]:
    clinic = make_clinic(database, clock)
    claimers = _operators(database, clock, clinic.id, PATIENT_CLAIMERS)
    reference_id, template = _template_from_a_real_task(database, clock, clinic.id)
    with database.writer() as s:  # the reference task is not part of this test's patients
        s.execute(
            sa.update(RecallTask)
            .where(RecallTask.id == reference_id)
            .values(status=TaskStatus.CLOSED, close_reason=CloseReason.NOT_NEEDED, closed_at=T0)
        )
        s.commit()
    template = {k: v for k, v in template.items() if k != "reason"}
    return clinic.id, claimers, _patients_with_several_tasks(database, clinic.id, n_patients, template)


@pytest.mark.timeout(DRAIN_DEADLINE + 2 * JOIN_TIMEOUT + 60)
def test_32_claimer_threads_never_hold_one_patient_at_once_and_each_gets_a_patients_work_together(
    database, db_url, clock
):
    clinic_id, claimers, tasks = _busy_queue(database, clock, PATIENTS)
    claims: list[dict[str, Any]] = []
    lock = threading.Lock()

    def record(claim: dict[str, Any]) -> None:
        with lock:
            claims.append(claim)

    start = threading.Barrier(len(claimers))
    deadline = time.monotonic() + DRAIN_DEADLINE
    # SQLite: one engine for all (pool >= claimers), as the threads of one web process; PostgreSQL: one each.
    shared = Database(db_url, pool_size=len(claimers), max_overflow=0) if _dialect(db_url) == "sqlite" else None

    def claimer(me: Actor) -> Callable[[], None]:
        def run() -> None:
            db = shared or Database(db_url, pool_size=1, max_overflow=0)
            try:
                start.wait(JOIN_TIMEOUT)
                work_patients(db, clock, me, deadline, record)
            finally:
                if shared is None:
                    db.dispose()

        return run

    try:
        with LeaseWatch(database, clock) as watch:
            errors = _run_threads([claimer(me) for me in claimers], DRAIN_DEADLINE + JOIN_TIMEOUT)
    finally:
        if shared is not None:
            shared.dispose()
    assert errors == []
    assert watch.samples > 0 and watch.doubled == set()
    _assert_one_operator_per_patient(claims, tasks, database, clinic_id)


@pytest.mark.timeout(DRAIN_DEADLINE + 2 * JOIN_TIMEOUT + 60)
def test_32_claimers_in_four_processes_never_hold_one_patient_at_once(database, db_url, clock, claimer_process):
    clinic_id, claimers, tasks = _busy_queue(database, clock, PATIENTS // 2)
    procs = [
        claimer_process(
            "--url",
            db_url,
            "--clinic-id",
            str(clinic_id),
            "--at",
            T0.isoformat(),
            "--drain",
            "--max-seconds",
            str(DRAIN_DEADLINE),
            "--staff-ids",
            ",".join(str(me.staff_id) for me in claimers[i::4]),
        )
        for i in range(4)
    ]
    claims: list[dict[str, Any]] = []
    with LeaseWatch(database, clock) as watch:
        for proc in procs:
            out = Lines(proc)
            while (line := out.next(timeout=DRAIN_DEADLINE)).startswith("CLAIM "):
                claims.append(json.loads(line.removeprefix("CLAIM ")))
            assert line == "DONE"
            assert proc.wait(JOIN_TIMEOUT) == 0
    assert watch.samples > 0 and watch.doubled == set()
    assert {c["holder"] for c in claims} <= {me.staff_id for me in claimers}
    _assert_one_operator_per_patient(claims, tasks, database, clinic_id)
