"""``recall worker --processes 2``: two sending processes share a clinic's due reminders and its rate, each sent
once; a stop reaches both, and neither outlives a supervisor killed outright.

The worker runs as it is deployed (``flask --app wsgi recall worker``), against the Twilio stand-in in its own
process; the sends are counted at the stand-in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from recall.common.db import Database
from recall.reminders.reminders import Reminder, ReminderStatus
from tests.integration._processes import (
    StandInProcess,
    Worker,
    busiest_second,
    count,
    load_due_reminders,
    wait_until,
    worker_env,
)

RATE = 20


def children_of(pid: int) -> list[int]:
    """The sending processes ``pid`` started (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    senders = []
    for child in map(int, found):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            senders.append(child)
    return senders


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but is not yet reaped (its parent is gone or busy) is a zombie: not running.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def start(database: Database, db_url: str, tmp_path: Path, n: int) -> tuple[StandInProcess, Worker]:
    load_due_reminders(database, n, RATE)
    standin = StandInProcess.start(tmp_path / "standin.log")
    env = {**worker_env(db_url, standin.base_url), "WORKER_CONCURRENCY": "8", "WORKER_INTERVAL_SECONDS": "0.2"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "recall", "worker", "--processes", "2"]
    return standin, Worker.start(env, tmp_path / "worker.log", command)


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_sending_processes_share_the_reminders_and_the_rate_and_stop_together(
    database: Database, db_url: str, tmp_path: Path
) -> None:
    n = 100
    standin, worker = start(database, db_url, tmp_path, n)
    senders: list[int] = []
    try:
        wait_until(lambda: len(children_of(worker.proc.pid)) == 2, 30, "two sending processes", [worker])
        senders = children_of(worker.proc.pid)
        wait_until(lambda: count(database, Reminder.status == ReminderStatus.SENT) == n, 60, "every send", [worker])
        with database.reader() as s:
            claimers = set(s.scalars(Reminder.__table__.select().with_only_columns(Reminder.claimed_by)))
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(30) == 0, worker.tail()
        assert not [pid for pid in senders if alive(pid)]
    finally:
        worker.stop()
        kill_all(senders)
        created = standin.created()
        standin.stop()
    assert len(created) == n
    assert Counter(r["idempotency_key"].split("-")[1] for r in created).most_common(1)[0][1] == 1
    assert len(claimers) == 2, claimers  # both processes sent
    assert busiest_second([r["at"] for r in created]) <= RATE + 2


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_sending_processes_stop_when_their_supervisor_is_killed_outright(
    database: Database, db_url: str, tmp_path: Path
) -> None:
    standin, worker = start(database, db_url, tmp_path, 10)
    senders: list[int] = []
    try:
        wait_until(lambda: len(children_of(worker.proc.pid)) == 2, 30, "two sending processes", [worker])
        senders = children_of(worker.proc.pid)
        wait_until(lambda: count(database, Reminder.status == ReminderStatus.SENT) == 10, 60, "the sends", [worker])
        worker.kill()
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in senders) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in senders if alive(pid)], worker.tail()
    finally:
        if worker.proc.poll() is None:
            worker.kill()
        kill_all(senders)
        standin.stop()
