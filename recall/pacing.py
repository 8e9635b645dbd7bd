"""Pacing a clinic's sender: messages/s and calls/s that hold across every worker process.

Each send takes the next slot with one atomic statement on a shared row,
``next = max(next, now) + 1/rate``, then waits until its slot (the dispatcher sleeps, having kept
the reminder's lease long enough). Slots are handed out in order and never closer than 1/rate
apart, so the rate holds however many workers and threads send at once; the wait happens outside
any transaction. Slots are real wall-clock time (shared by every process), not the domain's clock:
a rate is a physical limit of the sender, whatever time a test pretends it is.

A slot is when a send may start, not when it does: a thread that wakes late (the GIL, a busy core)
and others that wake on time could go out together, more in a second than the rate. So right
before the request, ``space`` holds the sends of one sender in this process to the rate over any
one-second window, counting real send times; the bursts left are those of separate worker
processes waking late at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recall.db import Database
from recall.reminders import SendPacer


# The window is kept this much longer than a second: a request leaves a few milliseconds after the decision to
# send it (the GIL again), and the provider counts arrivals. It costs at most this share of the rate.
SPACING_MARGIN = 0.005


class Pacer:
    def __init__(self, database: Database, now: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.db, self.now, self.sleep = database, now, sleep
        self._insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
        self._greatest = sa.func.greatest if database.dialect == "postgresql" else sa.func.max
        self._spacing: dict[tuple[int, str], list[Any]] = {}  # sender -> [lock, its latest send times]
        self._spacing_lock = threading.Lock()

    def take_slot(self, clinic_id: int, channel: str, per_second: float) -> float:
        """Reserve the next slot; returns how many seconds from now it starts (0 if it is free now)."""
        interval = max(1, round(1_000_000 / per_second))
        now = round(self.now() * 1_000_000)
        with self.db.writer() as session:
            session.execute(self._insert(SendPacer).values(clinic_id=clinic_id, channel=channel, next_us=now)
                            .on_conflict_do_nothing())
            taken = session.execute(
                sa.update(SendPacer).where(SendPacer.clinic_id == clinic_id, SendPacer.channel == channel)
                .values(next_us=self._greatest(SendPacer.next_us, now) + interval)
                .returning(SendPacer.next_us)).scalar_one()
            session.commit()
        return max(0.0, (taken - interval - now) / 1_000_000)

    def space(self, clinic_id: int, channel: str, per_second: float) -> None:
        """Right before a request: wait until this process's sends of that sender stay within the rate over any
        window of a second (of 1/rate, for a rate under one a second). A thread that woke late may still catch up
        on its slot, as long as the window allows it, so lateness does not pile up into a lower rate."""
        window = max(1.0, 1 / per_second)
        most = max(1, round(per_second * window))
        window *= 1 + SPACING_MARGIN
        with self._spacing_lock:
            entry = self._spacing.setdefault((clinic_id, channel), [threading.Lock(), deque(maxlen=most)])
        lock, sent = entry
        with lock:
            if len(sent) == sent.maxlen:
                wait = sent[0] + window - time.monotonic()
                if wait > 0:
                    self.sleep(wait)
            sent.append(time.monotonic())
