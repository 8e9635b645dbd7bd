"""Dispatch: workers claim due reminders under a lease and send them, recording before and after.

1. **Claim** (one statement, committed): due ``planned`` reminders become ``sending`` with a lease and
   this worker's id; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite. The
   attempt counter goes up here, before anything leaves the building.
2. **Check, send, record** (one transaction per reminder): on PostgreSQL the booking and the patient
   are locked ``FOR SHARE`` while the request is made, so a cancel, move or opt-out either committed
   before (the reminder reads ``cancelled`` and is not sent) or waits until the result is recorded.
   On SQLite the check is read just before the request. The result is written in the same transaction.
3. **Outcomes** (``recall.reminders.settling``): accepted -> ``sent`` (the SID is unique); transient (429,
   5xx, connection refused) -> ``planned`` again after a bounded backoff, ``failed`` after the last try;
   permanent -> ``failed`` with the reason (an opt-out withdraws SMS consent, an invalid number flags the
   phone) and the policy's fallback; **unknown** (a read timeout after the request went out) -> ``unknown``,
   never re-sent: we prefer missing a reminder to sending it twice, and the status callback, whose URL
   carries the reminder's id, resolves it if Twilio did take the message. A worker killed mid-send leaves a
   ``sending`` reminder whose lease lapses; ``reap`` turns it ``unknown`` for the same reason, and
   ``recall.recovery`` later asks Twilio whether it went out before anything is sent again.

The claim and a lease's life are ``recall.reminders.leases``; sending one claimed reminder (step 2) is
``recall.reminders.claimed_send``; this module is the loop that claims in batches and keeps the threads busy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

from recall.common.clock import Clock
from recall.common.db import Database
from recall.reminders import leases, recording
from recall.reminders.claimed_send import ClaimedSender, DispatchSettings
from recall.reminders.leases import Claimed
from recall.reminders.outcomes import SendOutcome
from recall.reminders.planning import Channel
from recall.reminders.recovery import Recovery
from recall.reminders.sending import MessageSender, SendLookup, SendObserver, VoiceCaller

_log = logging.getLogger(__name__)


@dataclass
class DrainResult:
    outcomes: dict[str, int] = field(default_factory=dict)  # by the outcome's value: it is printed and logged

    def add(self, outcome: SendOutcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


class Dispatcher(ClaimedSender):
    """Claims due reminders in batches and sends them on a pool of threads, each as ``ClaimedSender`` does; finds
    lost sends (``reap``) and asks the provider what became of them (``recover``)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: MessageSender,
        caller: VoiceCaller,
        settings: DispatchSettings,
        lookup: SendLookup | None = None,
        observer: SendObserver | None = None,
    ):
        super().__init__(database, clock, sender, caller, settings, observer)
        self._claim = leases.claim_statement(self.postgres)
        self._stopping = threading.Event()
        # Asks Twilio what became of a lost send; the gateway is one. Without it lost sends stay ``unknown``.
        self.lookup: SendLookup | None = (
            lookup if lookup is not None else (sender if isinstance(sender, SendLookup) else None)
        )
        self._recovery = (
            None
            if self.lookup is None
            else Recovery(
                database,
                clock,
                self.lookup,
                worker_id=settings.worker_id,
                lease=settings.lease,
                after=settings.recover_after,
                batch=settings.recover_batch,
                build=self._request,
                record_failure=lambda reminder_id, result: self._record(reminder_id, self._failed_on_create(result)),
            )
        )

    def stop(self) -> None:
        """Shut down gently: claim nothing more, let the sends in flight finish and be recorded, and give the
        reminders claimed ahead back to the queue (a deploy's SIGTERM then strands nothing as ``unknown``)."""
        self._stopping.set()

    # --- claiming --------------------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due reminders to this worker; committed before any of them is sent."""
        return leases.claim(self.db, self._claim, self.clock.now(), limit, self.settings.lease, self.settings.worker_id)

    def reap(self) -> int:
        """Sends whose worker died or stalled (``leases.reap``): never re-sent blindly, ``recover`` asks Twilio
        first. Runs at the start of every drain and every ``reap_every`` during one."""
        return leases.reap(self.db, self.clock.now())

    def recover(self) -> dict[str, int]:
        """Ask Twilio what became of lost sends (``recall.recovery``); without a look-up they stay ``unknown``."""
        return self._recovery.run() if self._recovery is not None else {}

    def _find_lost(self) -> None:
        self.reap()
        self.recover()

    def _release(self, unstarted: list[Claimed]) -> None:
        """Claimed, never started (the drain ran out of time): back to the queue untouched."""
        leases.release(self.db, [c.id for c in unstarted], self.settings.worker_id, self.clock.now())

    def _within_lease(self, claimed: list[Claimed], held: Counter[tuple[int, Channel]]) -> tuple[list[Claimed], bool]:
        """Keep of a claim only what each sender can send within the lease at its rate (rate x lease, counting
        what this worker already holds of it); the rest goes straight back to the queue. A worker killed outright
        then strands no more than it could have sent, and none of its reminders waits past its lease."""
        keep, excess = [], []
        for one in claimed:
            key = (one.clinic_id, one.channel)
            rate = self._rate(one) if one.channel in (Channel.SMS, Channel.VOICE) else None
            if rate and held[key] >= max(1, int(rate * self.settings.lease.total_seconds())):
                excess.append(one)
            else:
                held[key] += 1
                keep.append(one)
        self._release(excess)
        return keep, bool(excess)

    def _safely(self, claimed: Claimed) -> SendOutcome:
        """A bug or a lost database must not stop the loop; the reminder's lease lapses and reap marks it."""
        try:
            return self.process(claimed)
        except Exception:
            _log.exception("sending reminder %s failed unexpectedly", claimed.id)
            return SendOutcome.ERROR

    # --- the loop --------------------------------------------------------------------------------------------

    def drain(self, *, max_seconds: float | None = None, pool: ThreadPoolExecutor | None = None) -> DrainResult:
        """Send everything due, ``concurrency`` at a time, until nothing is due (or time is up).

        Claims come in batches: besides the reminders in flight, up to ``prefetch`` claimed ones wait for a
        thread, and the next claim tops them up once half are gone, so one claim statement serves several
        sends instead of one. The price: a worker killed outright strands up to concurrency + prefetch
        reminders as ``unknown``. One still waiting when time is up goes back to the queue, and one that
        waits long keeps its lease (``_keep_lease``)."""
        result, deadline = DrainResult(), None if max_seconds is None else time.monotonic() + max_seconds
        self._find_lost()
        next_reap = time.monotonic() + self.settings.reap_every.total_seconds()
        size = self.settings.concurrency
        prefetch = size // 2 if self.settings.prefetch is None else self.settings.prefetch
        own = pool is None
        pool = pool or ThreadPoolExecutor(size, thread_name_prefix="recall-send")
        finished: SimpleQueue[Future[SendOutcome]] = SimpleQueue()  # each send puts itself here when done
        inflight = 0
        waiting: deque[Claimed] = deque()
        held: Counter[tuple[int, Channel]] = Counter()  # claimed and not finished, per sender
        sender_of: dict[Future[SendOutcome], tuple[int, Channel]] = {}
        capped = False  # the last claim went past what a sender can send within the lease: wait for a send first
        if not self.postgres:
            self._sent_log = recording.SentLog(self.db, self.clock)
        try:
            while True:
                in_time = (deadline is None or time.monotonic() < deadline) and not self._stopping.is_set()
                if in_time and time.monotonic() >= next_reap:  # a long drain still finds lost sends
                    self._find_lost()
                    next_reap = time.monotonic() + self.settings.reap_every.total_seconds()
                free = size - inflight + prefetch - len(waiting)
                if in_time and not capped and free > 0 and len(waiting) <= prefetch // 2:
                    claimed, capped = self._within_lease(self.claim(free), held)
                    waiting.extend(claimed)
                while waiting and inflight < size and in_time:
                    claimed_one = waiting.popleft()
                    future = pool.submit(self._safely, claimed_one)
                    sender_of[future] = (claimed_one.clinic_id, claimed_one.channel)
                    future.add_done_callback(finished.put)
                    inflight += 1
                if not inflight:
                    return result
                try:
                    done = [finished.get(timeout=1.0)]
                except Empty:
                    continue
                while not finished.empty():
                    done.append(finished.get_nowait())
                inflight -= len(done)
                capped = False
                for future in done:
                    result.add(future.result())
                    held[sender_of.pop(future)] -= 1
        finally:
            self._release(list(waiting))
            if own:
                pool.shutdown(wait=True)
            if self._sent_log is not None:
                self._sent_log.close()
                self._sent_log = None
