"""Pacing a clinic's sender: messages/s and calls/s that hold across every worker process.

Each send takes the next slot with one atomic statement on a shared row,
``next = max(next, now) + 1/rate``, then waits until its slot (the dispatcher sleeps, having kept
the reminder's lease long enough). Slots are handed
out in order and never closer than 1/rate apart, so the rate holds however many
workers and threads send at once; the wait happens outside any transaction.
Slots are real wall-clock time (shared by every process), not the domain's clock:
a rate is a physical limit of the sender, whatever time a test pretends it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recall.db import Database
from recall.reminders import SendPacer


class Pacer:
    def __init__(self, database: Database, now: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.db, self.now, self.sleep = database, now, sleep
        self._insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
        self._greatest = sa.func.greatest if database.dialect == "postgresql" else sa.func.max

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
