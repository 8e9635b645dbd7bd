"""Pacing a clinic's sender: messages/s and calls/s that hold across every worker process.

Each send takes the next slot with one atomic statement on a shared row,
``next = max(next, now) + 1/rate``, then waits until its slot (the dispatcher sleeps, having kept
the reminder's lease long enough). Slots are handed out in order and never closer than 1/rate
apart, so the rate holds however many workers and threads send at once; the wait happens outside
any transaction. Slots are real wall-clock time (shared by every process), not the domain's clock:
a rate is a physical limit of the sender, whatever time a test pretends it is.

A slot is when a send may start, not when it does: a thread that wakes late (the GIL, a busy core, a
process stopped with SIGSTOP and resumed) must not send on a slot that has passed, or it goes out together
with the sends of other processes on their own later slots: two workers, each holding its own backlog of old
slots after a pause, sent twice the rate between them. So right before the request the sender asks ``late``:
a slot more than ``tolerance`` in the past is given up and a new one taken (the dispatcher then checks the
reminder again, since time has passed). Every request therefore leaves within ``tolerance`` after its slot,
and the slots are 1/rate apart across all processes, so any one-second window at the provider holds at most
rate * (1 + tolerance) rounded up: the limit, plus one or two (``tolerance`` is at most 2/rate), plus what
the network adds between the decision and the arrival. ``space`` also holds the sends of one sender in this
process to the rate over any one-second window, counting real send times, which keeps one process's own
late and on-time threads from going out together.
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
from sqlalchemy.orm import Mapped, mapped_column

from recall.common.db import Base, Database

# The window is kept this much longer than a second: a request leaves a few milliseconds after the decision to
# send it (the GIL again), and the provider counts arrivals. It costs at most this share of the rate.
SPACING_MARGIN = 0.005
# A slot further in the past than this when its request is about to leave is given up (see ``late``).
SLOT_TOLERANCE = 0.05


class SendPacer(Base):
    """The next free sending slot of a clinic's sender per channel, shared by every worker process.

    A worker takes a slot with one atomic UPDATE (next = max(next, now) + 1/rate) and waits for it,
    so the clinic's messages/s or calls/s is never exceeded however many workers run."""

    __tablename__ = "send_pacers"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    next_us: Mapped[int] = mapped_column(sa.BigInteger)  # microseconds since the epoch


class Pacer:
    def __init__(
        self, database: Database, now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ):
        self.db, self.now, self.sleep = database, now, sleep
        self._insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
        self._greatest = sa.func.greatest if database.dialect == "postgresql" else sa.func.max
        self._spacing: dict[tuple[int, str], list[Any]] = {}  # sender -> [lock, its latest send times]
        self._spacing_lock = threading.Lock()

    @staticmethod
    def tolerance(per_second: float) -> float:
        """How late a slot may still be used: a few milliseconds of scheduling, never more than two slots."""
        return min(SLOT_TOLERANCE, 2 / per_second)

    def late(self, start: float, per_second: float) -> bool:
        """Whether a send whose slot starts at ``start`` (wall-clock seconds) would leave too late to use it."""
        return self.now() - start > self.tolerance(per_second)

    def reserve(self, clinic_id: int, channel: str, per_second: float) -> float:
        """Reserve the next slot; returns when it starts, in wall-clock seconds since the epoch."""
        # Slots are as far apart as ``space`` holds the sends (the window's margin too), so a send on time never
        # waits there, and so never falls behind its slot by a little more at every send until it must give it up.
        interval = max(1, round(1_000_000 * (1 + SPACING_MARGIN) / per_second))
        with self.db.writer() as session:
            session.execute(
                self._insert(SendPacer)
                .values(clinic_id=clinic_id, channel=channel, next_us=round(self.now() * 1_000_000))
                .on_conflict_do_nothing()
            )
            now = round(self.now() * 1_000_000)  # read once the row is ours: a wait for the lock is not lateness
            taken = session.execute(
                sa.update(SendPacer)
                .where(SendPacer.clinic_id == clinic_id, SendPacer.channel == channel)
                .values(next_us=self._greatest(SendPacer.next_us, now) + interval)
                .returning(SendPacer.next_us)
            ).scalar_one()
            session.commit()
        return max(taken - interval, now) / 1_000_000

    def space(self, clinic_id: int, channel: str, per_second: float, slot: float | None = None) -> bool:
        """Right before a request: wait until this process's sends of that sender stay within the rate over any
        window of a second (of 1/rate, for a rate under one a second). Then, if the send's ``slot`` has passed by
        more than the tolerance, it must not go: False, and nothing is counted (a new slot is to be taken).
        A thread that woke late may still catch up on its slot within the tolerance, so lateness does not pile up
        into a lower rate."""
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
            if slot is not None and self.late(slot, per_second):
                return False
            sent.append(time.monotonic())
            return True
