"""Reminder workers killed with SIGKILL mid-dispatch: nothing is sent twice and nothing stays ``sending``.

Two production workers (``flask --app wsgi recall worker``, each its own process with 32 parallel sends)
drain due SMS reminders to a Twilio stand-in in this process (30 ms per request). One of them is killed
with SIGKILL a few times at random moments while it has sends in flight, and a fresh one started in its
place; the other runs throughout. When the survivors have sent everything they could, the test reaps with
a clock past the lease, as the next worker would two minutes later, and checks what the stand-in saw
against what the database says. The seed of the kill times is printed; set ``CRASH_SEED`` to replay one.

The reminders belong to a clinic whose policy sends at 100 SMS/s (the most a policy may set), so the run
lasts long enough for several kills and each kill strands up to 48 claimed reminders (32 in flight, some
of them on the wire, and 16 claimed ahead, waiting for a thread). A send that raises in a worker (on a busy
PostgreSQL server: "too many clients", since each worker pools 40 connections) is logged with the reminder's
id and left ``sending``; it ends ``unknown`` too, and is counted on top of the kills. Every wait has a
deadline and every worker is killed in ``finally``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from integrations.twilio.standin_model import Recorded
from recall.common.clock import FixedClock, SystemClock
from recall.common.db import Database
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.reminders import Reminder, ReminderStatus
from tests.integration._processes import Worker, load_due_reminders, wait_until

UTC = UTC
ALL_DAY = {"weekday_start": "00:00", "weekday_end": "24:00", "weekend_start": "00:00", "weekend_end": "24:00"}
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, TOKEN = "AC" + "0" * 32, "crash-test-auth-token"  # production refuses the stand-in's published default
CALLBACK_BASE = "https://clinic.example.com"
REMINDERS = {"postgresql": 2000, "sqlite": 1500}
RATE = 100  # SMS per second: the policy's maximum (MAX_RATE)
LATENCY_MS = 30
KILLS = 4
CONCURRENCY = 32  # WORKER_CONCURRENCY, the CLI's default
PREFETCH = CONCURRENCY // 2  # claimed ahead of a free thread (DispatchSettings.prefetch's default)
LEASE = timedelta(minutes=2)  # DispatchSettings' default; the CLI cannot set another
START_DEADLINE = 30  # seconds for a new worker to claim its first reminder
FINISH_DEADLINE = 60  # seconds for the survivors to finish after the last kill
# Dispatcher._safely logs a send that raised (a lost connection, say); that reminder stays ``sending`` under
# its lease, and the reaper makes it ``unknown`` like a killed worker's.
FAILED_UNEXPECTEDLY = re.compile(r"^sending reminder (\d+) failed unexpectedly$", re.MULTILINE)
FINAL = {ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.CANCELLED, ReminderStatus.UNKNOWN}


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _scalar(database: Database, stmt: sa.Select[tuple[int]]) -> int:
    with database.reader() as s:
        return s.scalar(stmt) or 0


def _count(*where: sa.ColumnElement[bool]) -> sa.Select[tuple[int]]:
    return sa.select(sa.func.count()).select_from(Reminder).where(*where)


def _due_planned() -> sa.Select[tuple[int]]:
    return _count(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at <= datetime.now(UTC))


def _reminder_of(request: Recorded) -> int:
    """The reminder a request was for: its idempotency key is reminder-<id>-<attempt>."""
    assert request.idempotency_key is not None and request.idempotency_key.startswith("reminder-")
    return int(request.idempotency_key.split("-")[1])


@pytest.fixture
def standin(standin: StandIn) -> StandIn:
    """The shared stand-in (tests/conftest.py, serving ACCOUNT), slow to answer as Twilio is."""
    standin.set_latency(LATENCY_MS)
    return standin


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_workers_killed_mid_dispatch_never_send_a_reminder_twice_nor_leave_one_sending(
    database: Database, db_url: str, standin: StandIn, tmp_path: Path
) -> None:
    n = REMINDERS[_dialect(db_url)]
    load_due_reminders(database, n, RATE)
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    env = {
        **os.environ,
        "RECALL_ENV": "production",
        "DATABASE_URL": db_url,
        "TWILIO_BASE_URL": standin.base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_DEFAULT_FROM": "+46700000000",
        "PUBLIC_BASE_URL": CALLBACK_BASE,
        "SECRET_KEY": "k" * 32,
    }
    workers: list[Worker] = []
    killed: list[Worker] = []
    stranded_at_kill: list[int] = []
    t0 = time.monotonic()
    try:
        survivor = Worker.start(env, tmp_path / "survivor.log")
        workers.append(survivor)
        for k in range(KILLS):
            victim = Worker.start(env, tmp_path / f"victim-{k}.log")
            workers.append(victim)
            wait_until(
                lambda victim=victim: (  # the loop's victim, bound now (the wait runs before the next one)
                    _scalar(database, _count(Reminder.claimed_by == victim.worker_id)) > 0
                    or _scalar(database, _due_planned()) == 0
                ),
                START_DEADLINE,
                f"victim {k} to claim",
                workers,
            )
            if _scalar(database, _due_planned()) == 0:
                break  # the survivor sent everything: no kill left to make
            time.sleep(rng.uniform(0.05, 1.0))
            victim.kill()
            killed.append(victim)
            stranded_at_kill.append(
                _scalar(
                    database, _count(Reminder.status == ReminderStatus.SENDING, Reminder.claimed_by == victim.worker_id)
                )
            )
        alive = [w for w in workers if w not in killed]

        def finished() -> bool:
            if _scalar(database, _due_planned()):
                return False
            with database.reader() as s:
                busy = set(
                    s.scalars(
                        sa.select(Reminder.id).where(
                            Reminder.status == ReminderStatus.SENDING,
                            Reminder.claimed_by.in_([w.worker_id for w in alive]),
                        )
                    )
                )
            return busy <= set().union(*(w.errored() for w in alive))

        wait_until(finished, FINISH_DEADLINE, "the survivors to finish", workers)
        dispatch_seconds = time.monotonic() - t0
    finally:
        for worker in workers:
            if worker not in killed:
                worker.stop()
    errored = set().union(*(w.errored() for w in workers))

    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=standin.base_url)
    try:
        later = FixedClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
        reaped = Dispatcher(
            database, later, gateway, gateway, DispatchSettings(worker_id="reaper", callback_base=CALLBACK_BASE)
        ).reap()
    finally:
        gateway.close()

    with database.reader() as s:
        rows = s.execute(
            sa.select(Reminder.id, Reminder.status, Reminder.provider_sid, Reminder.claimed_by, Reminder.outcome)
        ).all()
    requests = [r for r in standin.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    statuses = Counter(row.status for row in rows)
    per_reminder = Counter(_reminder_of(r) for r in requests)
    per_callback = Counter(parse_qs(urlsplit(r.value("StatusCallback") or "").query)["r"][0] for r in requests)
    by_sid = Counter(r.sid for r in requests if r.sid)
    killed_ids = {w.worker_id for w in killed}
    print(
        f"\n{_dialect(db_url)} (seed {seed}): {n} reminders, {len(killed)} kills stranding {stranded_at_kill} "
        f"claimed reminders, {dispatch_seconds:.1f} s; reaped {reaped}; statuses "
        f"{ {str(k.value): v for k, v in sorted(statuses.items())} }; {len(requests)} requests at the stand-in "
        f"({len(by_sid)} accepted, {sum(1 for r in requests if r.status is None)} never answered); "
        f"{len(errored)} sends raised in a worker"
    )
    if errored:
        print(next(w.tail() for w in workers if w.errored()))

    assert len(rows) == n
    assert killed, "no worker was killed: the run proved nothing"
    assert statuses[ReminderStatus.SENDING] == 0
    assert set(statuses) <= FINAL | {ReminderStatus.PLANNED}, statuses
    assert _scalar(database, _due_planned()) == 0, "a planned reminder may only wait for a retry"
    assert [r for r, times in per_reminder.items() if times > 1] == [], "a reminder went out twice"
    assert [r for r, times in per_callback.items() if times > 1] == [], "a callback URL went out twice"
    sent = [row for row in rows if row.status is ReminderStatus.SENT]
    assert [row.id for row in sent if by_sid[row.provider_sid] != 1] == [], "a sent reminder lacks its one request"
    assert [row.id for row in sent if per_reminder[row.id] != 1] == []
    on_the_wire = {row.id: row.status for row in rows if per_reminder[row.id]}
    assert {
        rid: st for rid, st in on_the_wire.items() if st not in (ReminderStatus.SENT, ReminderStatus.UNKNOWN)
    } == {}, "a request that went out was recorded as never sent"
    unknown = [row for row in rows if row.status is ReminderStatus.UNKNOWN]
    assert [
        row.id
        for row in unknown
        if row.outcome != "worker_lost" or (row.claimed_by not in killed_ids and row.id not in errored)
    ] == []
    assert 0 < len(unknown) <= len(killed) * (CONCURRENCY + PREFETCH) + len(errored)
    assert reaped == len(unknown)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_worker_told_to_stop_finishes_its_sends_and_gives_back_what_it_claimed_ahead(
    database: Database, db_url: str, standin: StandIn, tmp_path: Path
) -> None:
    """SIGTERM (a deploy, a scale-down) is not a crash: nothing the worker claimed ends ``unknown``."""
    load_due_reminders(database, 1000, RATE)
    env = {
        **os.environ,
        "RECALL_ENV": "production",
        "DATABASE_URL": db_url,
        "TWILIO_BASE_URL": standin.base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_DEFAULT_FROM": "+46700000000",
        "PUBLIC_BASE_URL": CALLBACK_BASE,
        "SECRET_KEY": "k" * 32,
    }
    worker = Worker.start(env, tmp_path / "worker.log")
    try:
        wait_until(
            lambda: _scalar(database, _count(Reminder.status == ReminderStatus.SENT)) >= 100,
            START_DEADLINE,
            "the worker to send 100",
            [worker],
        )
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(30) == 0, worker.tail()
    finally:
        worker.kill()

    with database.reader() as s:
        statuses = Counter(s.scalars(sa.select(Reminder.status)))
        given_back = s.execute(
            sa.select(Reminder.attempts, Reminder.claimed_by).where(Reminder.status == ReminderStatus.PLANNED)
        ).all()
    requests = [r for r in standin.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    assert set(statuses) == {ReminderStatus.SENT, ReminderStatus.PLANNED}, statuses
    assert statuses[ReminderStatus.SENT] == len(requests) < 1000  # stopped early; every request recorded
    assert set(given_back) == {(0, None)}


# --- lost sends are found and recovered --------------------------------------------------------------------------

LEASE_S, RECOVER_AFTER_S, REAP_EVERY_S = 3.0, 4.0, 0.5
PAUSE_S = 5.0  # past the lease (its reminders are reaped and given up), short of lease + recovery margin
RECOVERY_RATE = 40  # SMS/s


def _sender(env: dict[str, str], db_url: str, base_url: str, log: Path) -> Worker:
    worker = Worker.start(
        env,
        log,
        [
            sys.executable,
            "-m",
            "tests.integration._sender",
            "--url",
            db_url,
            "--twilio",
            base_url,
            "--concurrency",
            "8",
            "--prefetch",
            "4",
            "--lease",
            str(LEASE_S),
            "--recover-after",
            str(RECOVER_AFTER_S),
            "--reap-every",
            str(REAP_EVERY_S),
            "--max-seconds",
            "100",
        ],
    )
    return worker  # type: ignore[return-value]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_workers_killed_or_paused_strand_nothing_and_send_nothing_twice(
    database: Database, db_url: str, tmp_path: Path
) -> None:
    """Three workers (``tests/integration/_sender.py``: the dispatcher as the CLI runs it, 8 sends each, a 3 s lease,
    lost sends looked up 4 s after it lapsed) send 400 SMS at 40/s to the stand-in in its own process. One is
    killed with SIGKILL, a second stopped with SIGSTOP for 5 s (past its lease) and resumed, a third killed once the
    second is back. What the killed and paused workers held is reaped during the survivors' drain, looked up at
    the stand-in, and sent (once) if it never went out: no patient gets two messages, and every reminder is sent."""
    from tests.integration._processes import StandInProcess, load_due_reminders, wait_until, worker_env

    n = 400
    load_due_reminders(database, n, RECOVERY_RATE)
    standin = StandInProcess.start(tmp_path / "standin.log")
    env = worker_env(db_url, standin.base_url)
    workers: list = []
    t0 = time.monotonic()
    try:
        survivor = _sender(env, db_url, standin.base_url, tmp_path / "survivor.log")
        killed = _sender(env, db_url, standin.base_url, tmp_path / "killed.log")
        paused = _sender(env, db_url, standin.base_url, tmp_path / "paused.log")
        workers = [survivor, killed, paused]

        def holds(worker: Any) -> int:
            return _scalar(
                database, _count(Reminder.claimed_by == worker.worker_id, Reminder.status == ReminderStatus.SENDING)
            )

        wait_until(lambda: holds(killed) > 0 and holds(paused) > 0, START_DEADLINE, "the workers to claim", workers)
        time.sleep(0.5)
        stranded = [holds(killed)]
        killed.kill()
        paused.pause()
        stranded.append(holds(paused))
        time.sleep(PAUSE_S)
        paused.resume()
        late = _sender(env, db_url, standin.base_url, tmp_path / "late.log")
        workers.append(late)
        wait_until(
            lambda: holds(late) > 0 or _scalar(database, _due_planned()) == 0,
            START_DEADLINE,
            "the late worker to claim",
            workers,
        )
        stranded.append(holds(late))
        late.kill()

        def settled() -> bool:
            with database.reader() as s:
                open_ = s.scalar(
                    sa.select(sa.func.count())
                    .select_from(Reminder)
                    .where(
                        sa.or_(
                            Reminder.status.in_((ReminderStatus.PLANNED, ReminderStatus.SENDING)),
                            sa.and_(
                                Reminder.status == ReminderStatus.UNKNOWN,
                                sa.or_(Reminder.recovery.is_(None), Reminder.recovery == "checking"),
                            ),
                        )
                    )
                )
            return open_ == 0

        wait_until(settled, FINISH_DEADLINE, "every reminder to be sent or recovered", workers)
        seconds = time.monotonic() - t0
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.stop()
        messages = standin._control("GET", "messages") if standin.base_url else []
        requests = standin.created() if standin.base_url else []
        standin.stop()

    with database.reader() as s:
        rows = s.execute(sa.select(Reminder.id, Reminder.status, Reminder.provider_sid, Reminder.recovery)).all()
    statuses = Counter(row.status for row in rows)
    recoveries = Counter(row.recovery for row in rows if row.recovery)
    per_patient = Counter(m["to"] for m in messages)
    missed = [row.id for row in rows if row.status is not ReminderStatus.SENT]
    print(
        f"\n{_dialect(db_url)}: {n} reminders in {seconds:.1f} s; stranded by kill, pause, kill: {stranded}; "
        f"statuses { {k.value: v for k, v in statuses.items()} }; recoveries {dict(recoveries)}; "
        f"{len(requests)} requests, {len(messages)} messages at the stand-in; missed {len(missed)}"
    )

    assert sum(stranded) > 0, "nothing was stranded: the run proved nothing"
    assert [to for to, times in per_patient.items() if times > 1] == [], "a patient got two messages"
    assert len(messages) == n and missed == [], "every reminder went out, once"
    sids = {m["sid"] for m in messages}
    assert {row.provider_sid for row in rows} == sids, "each is recorded with the SID Twilio gave it"


@pytest.mark.timeout(60)
def test_a_dead_workers_send_is_reaped_while_another_worker_drains_a_backlog(
    database: Database, standin: StandIn
) -> None:
    """Reaping ran only when a drain started, so a backlog kept a dead worker's reminders ``sending`` until it was
    done. Now a drain reaps every ``reap_every`` too."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration._processes import load_due_reminders

    load_due_reminders(database, 7, 2.0)  # 2 SMS/s: the backlog takes three seconds
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=standin.base_url)
    try:
        dead = Dispatcher(
            database,
            SystemClock(),
            gateway,
            gateway,
            DispatchSettings(
                worker_id="dead", callback_base=CALLBACK_BASE, lease=timedelta(seconds=1), default_from="+46700000000"
            ),
        )
        [lost] = dead.claim(1)  # ... and it is killed
        alive = Dispatcher(
            database,
            SystemClock(),
            gateway,
            gateway,
            DispatchSettings(
                worker_id="alive",
                callback_base=CALLBACK_BASE,
                concurrency=2,
                reap_every=timedelta(seconds=0.3),
                default_from="+46700000000",
            ),
        )
        with ThreadPoolExecutor(1) as pool:
            draining = pool.submit(alive.drain)
            deadline = time.monotonic() + 20
            while _status(database, lost.id) is ReminderStatus.SENDING and time.monotonic() < deadline:
                time.sleep(0.05)
            reaped_while_draining = not draining.done()
            result = draining.result(timeout=30)
    finally:
        gateway.close()

    assert _status(database, lost.id) is ReminderStatus.UNKNOWN
    assert reaped_while_draining, "the lost send was reaped only after the backlog"
    assert result.outcomes == {"sent": 6}


def _status(database: Database, reminder_id: int) -> ReminderStatus:
    with database.reader() as s:
        return s.scalar(sa.select(Reminder.status).where(Reminder.id == reminder_id))
