"""A clinic's rate limit holds at Twilio across worker processes, whenever they start and however long one sleeps.

Two or three worker processes (``tests/integration/_sender.py``: the dispatcher as ``recall worker`` runs it, 16
sends in parallel each, so that three fit in a shared PostgreSQL server's connections) send one clinic's
due SMS at 10/s to the Twilio stand-in in its own process (30 ms per request). They start together (the start of
sending), and one of them is stopped with SIGSTOP while its threads wait for their slots, then resumed with
SIGCONT: its slots have passed meanwhile and must not be used. The stand-in's arrival times are checked: no
window of one second holds more than the limit plus the tolerance the pacer documents (``recall.pacing``: a slot
may be used up to 50 ms late, so a window may hold one more; one more again for the network between the decision
and the arrival on a loaded machine).
"""

from __future__ import annotations

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

RATE = 10
TOLERANCE = 2  # the limit plus at most this many in any one-second window
PAUSE_SECONDS = 2.5


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [2, 3])
def test_the_rate_limit_holds_at_twilio_across_workers_one_paused_and_resumed(
    database: Database, db_url: str, tmp_path: Path, workers: int
) -> None:
    n = 150
    load_due_reminders(database, n, RATE)
    standin = StandInProcess.start(tmp_path / "standin.log")
    running: list[Worker] = []
    try:
        env = worker_env(db_url, standin.base_url)
        command = [
            sys.executable,
            "-m",
            "tests.integration._sender",
            "--url",
            db_url,
            "--twilio",
            standin.base_url,
            "--concurrency",
            "16",
            "--max-seconds",
            "100",
        ]
        running = [Worker.start(env, tmp_path / f"worker-{i}.log", command) for i in range(workers)]
        victim = running[-1]
        wait_until(
            lambda: (
                count(database, Reminder.claimed_by == victim.worker_id, Reminder.status == ReminderStatus.SENT) > 0
            ),
            40,
            "the victim to send",
            running,
        )
        victim.pause()
        time.sleep(PAUSE_SECONDS)
        victim.resume()
        wait_until(
            lambda: count(database, Reminder.status == ReminderStatus.SENT) == n,
            60,
            "every reminder to be sent",
            running,
        )
    finally:
        for worker in running:
            worker.stop()
        created = standin.created() if standin.base_url else []
        standin.stop()

    times = sorted(r["at"] for r in created)
    busiest = busiest_second(times)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    print(
        f"\n{workers} workers at {RATE}/s, one paused {PAUSE_SECONDS} s: {len(times)} sends, busiest second "
        f"{busiest}, achieved {achieved:.2f}/s"
    )
    assert len(times) == n
    assert Counter(r["idempotency_key"].split("-")[1] for r in created).most_common(1)[0][1] == 1
    assert busiest <= RATE + TOLERANCE, busiest
    # the slots the paused worker held pass unused (at most one per thread of it), and that is all that is lost
    assert achieved >= RATE * 0.6, "the pacing must not throw the rate away either"
