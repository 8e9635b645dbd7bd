"""Dispatch: workers claim due reminders under a lease and send them, recording before and after.

1. **Claim** (one statement, committed): due ``planned`` reminders become ``sending`` with a lease and
   this worker's id; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite. The
   attempt counter goes up here, before anything leaves the building.
2. **Check, send, record** (one transaction per reminder): on PostgreSQL the booking and the patient
   are locked ``FOR SHARE`` while the request is made, so a cancel, move or opt-out either committed
   before (the reminder reads ``cancelled`` and is not sent) or waits until the result is recorded.
   On SQLite the check is read just before the request. The result is written in the same transaction.
3. **Outcomes**: accepted -> ``sent`` (the SID is unique); transient (429, 5xx, connection refused)
   -> ``planned`` again after a bounded backoff, ``failed`` after the last try; permanent -> ``failed``
   with the reason (an opt-out withdraws SMS consent, an invalid number flags the phone) and the policy's
   fallback; **unknown** (a read timeout after the request went out) -> ``unknown``, never re-sent:
   we prefer missing a reminder to sending it twice, and the status callback, whose URL carries the
   reminder's id, resolves it if Twilio did take the message. A worker killed mid-send leaves a
   ``sending`` reminder whose lease lapses; ``reap`` turns it ``unknown`` for the same reason, and
   ``recall.recovery`` later asks Twilio whether it went out before anything is sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.patients import Patient
from recall.common.clock import Clock
from recall.common.db import Database
from recall.reminders import outgoing
from recall.reminders.outcomes import Refusal, SendIncident, SendOutcome
from recall.reminders.pacing import Pacer
from recall.reminders.planning import Channel, Hours, PolicyDoc
from recall.reminders.policy import DEFAULT_POLICY, get_version
from recall.reminders.recovery import Recovery
from recall.reminders.refusals import refused_for_good
from recall.reminders.reminders import Reminder, ReminderStatus, fall_back, hand_over
from recall.reminders.sending import (
    MessageSender,
    PermanentSendError,
    SendError,
    SendLookup,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
    VoiceCaller,
)

_log = logging.getLogger(__name__)

# The statements every send runs, built once (a statement caches its own cache key).
_SHARE_PATIENT = sa.select(Patient.id).where(Patient.id == sa.bindparam("patient_id")).with_for_update(read=True)


def _claim_statement(postgres: bool) -> sa.Update:
    """The claim, built once per dispatcher: the due reminders, oldest first, become this worker's."""
    due = (
        sa.select(Reminder.id)
        .where(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at <= sa.bindparam("now"))
        .order_by(Reminder.due_at, Reminder.id)
        .limit(sa.bindparam("limit"))
    )
    if postgres:  # claimers never wait for each other
        due = due.with_for_update(skip_locked=True)
    return (
        sa.update(Reminder)
        .where(Reminder.id.in_(due.scalar_subquery()))
        .values(
            status=ReminderStatus.SENDING,
            lease_expires_at=sa.bindparam("until"),
            claimed_by=sa.bindparam("worker"),
            attempts=Reminder.attempts + 1,
            updated_at=sa.bindparam("now"),
            claimed_at=sa.bindparam("now"),
        )
        .returning(
            Reminder.id,
            Reminder.clinic_id,
            Reminder.channel,
            Reminder.policy_version,
            Reminder.booking_id,
            Reminder.patient_id,
            Reminder.lease_expires_at,
        )
    )


_RENEW = (
    sa.update(Reminder)
    .where(
        Reminder.id == sa.bindparam("reminder_id"),
        Reminder.status == ReminderStatus.SENDING,
        Reminder.claimed_by == sa.bindparam("worker"),
        Reminder.lease_expires_at > sa.bindparam("now"),
    )
    .values(lease_expires_at=sa.bindparam("until"))
)


@dataclass(frozen=True)
class DispatchSettings:
    worker_id: str
    callback_base: str  # the public base URL Twilio calls back (status callbacks, the call's TwiML)
    concurrency: int = 32
    lease: timedelta = timedelta(minutes=2)
    backoff_seconds: tuple[int, ...] = (30, 120, 600, 1800)  # after the 1st, 2nd, ... transient failure
    default_from: str | None = None  # used when a clinic's policy names no sender
    prefetch: int | None = None  # claimed reminders waiting for a thread (see ``drain``); None: concurrency / 2
    reap_every: timedelta = timedelta(seconds=5)  # during a long drain, lost sends are looked for this often
    # A lost send's lease must have lapsed this long before Twilio is asked whether it went out: longer than a
    # request takes (the read timeout), so that a request a stalled worker wrote just before its lease ran out
    # has been answered by then, and Twilio lists it.
    recover_after: timedelta = timedelta(minutes=1)
    recover_batch: int = 20  # look-ups per pass (each is a request to Twilio)


@dataclass(frozen=True, order=True)
class Claimed:
    id: int
    clinic_id: int
    channel: Channel
    policy_version: int
    booking_id: int
    patient_id: int
    lease_expires_at: datetime


@dataclass
class DrainResult:
    outcomes: dict[str, int] = field(default_factory=dict)  # by the outcome's value: it is printed and logged

    def add(self, outcome: SendOutcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


class Dispatcher:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: MessageSender,
        caller: VoiceCaller,
        settings: DispatchSettings,
        lookup: SendLookup | None = None,
    ):
        self.db, self.clock, self.sender, self.caller, self.settings = database, clock, sender, caller, settings
        self.pacer = Pacer(database)
        self._policies: dict[tuple[int, int], PolicyDoc] = {}
        self._lock = threading.Lock()
        self.postgres = database.dialect == "postgresql"
        self._claim = _claim_statement(self.postgres)
        self._sent_log: outgoing.SentLog | None = None  # during a drain on SQLite
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
                record_failure=lambda reminder_id, result: self._record(
                    reminder_id, lambda s, r: self._failed_on_create(s, r, result)
                ),
            )
        )

    def stop(self) -> None:
        """Shut down gently: claim nothing more, let the sends in flight finish and be recorded, and give the
        reminders claimed ahead back to the queue (a deploy's SIGTERM then strands nothing as ``unknown``)."""
        self._stopping.set()

    # --- claiming --------------------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due reminders to this worker; committed before any of them is sent."""
        now = self.clock.now()
        with self.db.connection(write=True) as conn:
            rows = [
                Claimed(*row)
                for row in conn.execute(
                    self._claim,
                    {"now": now, "limit": limit, "until": now + self.settings.lease, "worker": self.settings.worker_id},
                )
            ]
            conn.commit()
        return sorted(rows)

    def reap(self) -> int:
        """Sends whose worker died or stalled: the lease lapsed with the outcome unknown. Never re-sent blindly:
        ``recover`` asks Twilio first. Runs at the start of every drain and every ``reap_every`` during one; it
        touches only ``sending`` rows (at most what the workers hold), through the status index."""
        now = self.clock.now()
        with self.db.writer() as session:
            count = (
                session.execute(
                    sa.update(Reminder)
                    .where(Reminder.status == ReminderStatus.SENDING, Reminder.lease_expires_at < now)
                    .values(status=ReminderStatus.UNKNOWN, outcome=SendIncident.WORKER_LOST.value, updated_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
                or 0
            )
            session.commit()
        return count

    def recover(self) -> dict[str, int]:
        """Ask Twilio what became of lost sends (``recall.recovery``); without a look-up they stay ``unknown``."""
        return self._recovery.run() if self._recovery is not None else {}

    def _find_lost(self) -> None:
        self.reap()
        self.recover()

    # --- one reminder ----------------------------------------------------------------------------------------

    def process(self, claimed: Claimed) -> SendOutcome:
        """Wait for the sender's slot, then check, send and record one claimed reminder; returns what became of it.

        A slot that has passed by the time the request would leave (this thread, or the whole process, woke
        late) is not used: a new one is taken, and the reminder checked again before it is sent."""
        rate = self._rate(claimed) if claimed.channel in (Channel.SMS, Channel.VOICE) else None
        while True:
            slot = None
            if rate:
                slot = self.pacer.reserve(claimed.clinic_id, claimed.channel.value, rate)
                delay = max(0.0, slot - self.pacer.now())
                self._keep_lease(claimed, delay)
                if delay > 0:
                    self.pacer.sleep(delay)
            outcome = (
                self._send_locked(claimed, rate, slot) if self.postgres else self._send_unlocked(claimed, rate, slot)
            )
            if outcome is not None:
                return outcome

    def _send_locked(self, claimed: Claimed, rate: float | None, slot: float | None) -> SendOutcome | None:
        """PostgreSQL: one transaction holds the patient and the booking FOR SHARE from the check to the record,
        so a cancel, move or opt-out either committed before the check or waits for the record. None: the slot
        passed before the request could leave (nothing sent, nothing written)."""
        with self.db.connection(write=True) as conn:
            # the patient, then the booking: the order every use case that changes them locks in
            conn.execute(_SHARE_PATIENT, {"patient_id": claimed.patient_id})
            out = outgoing.load(conn, claimed.id, share_booking=True)
            assert out is not None
            refusal = outgoing.refusal(out, self.settings.worker_id, self.clock.now(), self._hours(claimed))
            if refusal is not None or out.channel in (Channel.OPERATOR_CALL, Channel.FRONTDESK_CALL):
                outcome = self._in_orm(conn, claimed.id, lambda s, r: self._settle_without_sending(s, r, refusal))
            else:
                request = self._build(conn, out, claimed)
                try:
                    result = self._send(request, claimed, rate, slot)
                    if result is None:
                        conn.rollback()
                        return None
                    if result.event.failed:
                        outcome = self._in_orm(conn, claimed.id, lambda s, r: self._failed_on_create(s, r, result))
                    else:
                        outgoing.record_sent(conn, [outgoing.sent(claimed.id, result, self.clock.now())])
                        outcome = SendOutcome.SENT
                except SendError as error:
                    outcome = self._in_orm(conn, claimed.id, lambda s, r, failure=error: self._failed(s, r, failure))
            conn.commit()
            return outcome

    def _send_unlocked(self, claimed: Claimed, rate: float | None, slot: float | None) -> SendOutcome | None:
        """SQLite: a writer holds the whole database, so none is held across a request. The check reads just
        before the request, and the result is written in a transaction of its own (within a drain, a success
        in a batch with others: ``outgoing.SentLog``). None: the slot passed before the request could leave."""
        with self.db.connection(write=False) as conn:
            out = outgoing.load(conn, claimed.id)
            assert out is not None
            refusal = outgoing.refusal(out, self.settings.worker_id, self.clock.now(), self._hours(claimed))
            human = out.channel in (Channel.OPERATOR_CALL, Channel.FRONTDESK_CALL)
            request = None if refusal is not None or human else self._build(conn, out, claimed)
        if request is None:
            return self._record(claimed.id, lambda s, r: self._settle_without_sending(s, r, refusal))
        try:
            result = self._send(request, claimed, rate, slot)
        except SendError as error:
            return self._record(claimed.id, lambda s, r, failure=error: self._failed(s, r, failure))
        if result is None:
            return None
        if result.event.failed:
            return self._record(claimed.id, lambda s, r: self._failed_on_create(s, r, result))
        if self._sent_log is not None:
            self._sent_log.add(claimed.id, result)
        else:
            with self.db.connection(write=True) as conn:
                outgoing.record_sent(conn, [outgoing.sent(claimed.id, result, self.clock.now())])
                conn.commit()
        return SendOutcome.SENT

    def _build(self, conn: sa.Connection, out: outgoing.Outgoing, claimed: Claimed) -> outgoing.Request:
        return self._request(conn, out, claimed.clinic_id, claimed.policy_version)

    def _request(self, conn: sa.Connection, out: outgoing.Outgoing, clinic_id: int, version: int) -> outgoing.Request:
        return outgoing.build(
            conn,
            out,
            self._policy(clinic_id, version),
            callback_base=self.settings.callback_base,
            default_from=self.settings.default_from,
        )

    def _keep_lease(self, claimed: Claimed, delay: float) -> None:
        """A reminder that waits long for its sending slot (a slow sender, or one waiting its turn here) keeps
        its lease: renewed while it is still ours, so no other worker's reap takes it for a lost send."""
        now = self.clock.now()
        margin = self.settings.lease / 2
        if claimed.lease_expires_at - now >= timedelta(seconds=delay) + margin:
            return
        with self.db.connection(write=True) as conn:
            conn.execute(
                _RENEW,
                {
                    "reminder_id": claimed.id,
                    "worker": self.settings.worker_id,
                    "now": now,
                    "until": now + timedelta(seconds=delay) + self.settings.lease,
                },
            )
            conn.commit()

    def _release(self, unstarted: list[Claimed]) -> None:
        """Claimed, never started (the drain ran out of time): back to the queue untouched."""
        if not unstarted:
            return
        with self.db.writer() as session:
            session.execute(
                sa.update(Reminder)
                .where(
                    Reminder.id.in_([c.id for c in unstarted]),
                    Reminder.status == ReminderStatus.SENDING,
                    Reminder.claimed_by == self.settings.worker_id,
                )
                .values(
                    status=ReminderStatus.PLANNED,
                    claimed_by=None,
                    lease_expires_at=None,
                    attempts=Reminder.attempts - 1,
                    updated_at=self.clock.now(),
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def _send(
        self, request: outgoing.Request, claimed: Claimed, rate: float | None, slot: float | None
    ) -> SendResult | None:
        """The request, unless its slot has passed (None): the last thing before it leaves is that check."""
        if rate and not self.pacer.space(claimed.clinic_id, claimed.channel.value, rate, slot):
            return None
        if request.channel is Channel.VOICE:
            assert request.twiml_url is not None
            return self.caller.place_call(
                to=request.to,
                twiml_url=request.twiml_url,
                status_callback=request.status_callback,
                idempotency_key=request.idempotency_key,
                sender=request.sender,
            )
        assert request.body is not None
        return self.sender.send_sms(
            to=request.to,
            body=request.body,
            status_callback=request.status_callback,
            idempotency_key=request.idempotency_key,
            sender=request.sender,
        )

    @staticmethod
    def _reminder(session: Session, reminder_id: int) -> Reminder:
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        return reminder

    def _settle_without_sending(self, session: Session, reminder: Reminder, refusal: Refusal | None) -> SendOutcome:
        now = self.clock.now()
        if refusal is Refusal.NOT_OURS:
            return SendOutcome.NOT_OURS
        if refusal is Refusal.LEASE_LAPSED:  # never sent: back to the queue, unless a reaper has taken it meanwhile
            if reminder.status is not ReminderStatus.SENDING or reminder.claimed_by != self.settings.worker_id:
                return SendOutcome.NOT_OURS
            reminder.status, reminder.claimed_by, reminder.lease_expires_at = ReminderStatus.PLANNED, None, None
            reminder.attempts, reminder.updated_at = reminder.attempts - 1, now
            return SendOutcome.GIVEN_UP
        if refusal is Refusal.OUTSIDE_HOURS:
            hours = self._policy(reminder.clinic_id, reminder.policy_version).hours
            return outgoing.defer(session, reminder, hours, now, self.settings.worker_id)
        if refusal is not None:
            reminder.status, reminder.outcome, reminder.updated_at = ReminderStatus.CANCELLED, refusal, now
            return SendOutcome.CANCELLED
        return SendOutcome(hand_over(session, reminder, now))  # "handed_over", or "automated" during a surge

    def _policy(self, clinic_id: int, version: int) -> PolicyDoc:
        """A policy version never changes once saved, so each worker reads it once."""
        with self._lock:
            doc = self._policies.get((clinic_id, version))
        if doc is None:
            with self.db.reader() as session:
                doc = DEFAULT_POLICY if version == 0 else get_version(session, clinic_id, version).doc
            with self._lock:
                self._policies[(clinic_id, version)] = doc
        return doc

    def _hours(self, claimed: Claimed) -> Hours:
        return self._policy(claimed.clinic_id, claimed.policy_version).hours

    def _rate(self, claimed: Claimed) -> float | None:
        doc = self._policy(claimed.clinic_id, claimed.policy_version)
        return doc.calls_per_second if claimed.channel is Channel.VOICE else doc.sms_per_second

    def _record(self, reminder_id: int, apply: Callable[[Session, Reminder], SendOutcome]) -> SendOutcome:
        """``apply`` in a write transaction of its own (SQLite: the check ran in a read transaction)."""
        with self.db.connection(write=True) as conn, conn.begin():  # begun here, so the session joins it
            return self._in_orm(conn, reminder_id, apply)

    @staticmethod
    def _in_orm(
        conn: sa.Connection, reminder_id: int, apply: Callable[[Session, Reminder], SendOutcome]
    ) -> SendOutcome:
        """The domain's ORM functions, inside the connection's open transaction (the caller commits it; a
        session given a connection with no transaction begun would own, and on closing roll back, its own)."""
        with Session(bind=conn) as session:  # joins the open transaction; closing it leaves that alone
            outcome = apply(session, Dispatcher._reminder(session, reminder_id))
            session.flush()
            return outcome

    def _failed(self, session: Session, reminder: Reminder, error: SendError) -> SendOutcome:
        now = self.clock.now()
        reminder.error_code, reminder.updated_at, reminder.lease_expires_at = error.code, now, None
        if isinstance(error, UnknownOutcomeError):
            reminder.status, reminder.outcome = ReminderStatus.UNKNOWN, error.reason
            return SendOutcome.UNKNOWN
        if isinstance(error, TransientSendError) and reminder.attempts <= len(self.settings.backoff_seconds):
            wait_s = self.settings.backoff_seconds[reminder.attempts - 1]
            reminder.status, reminder.outcome = ReminderStatus.PLANNED, error.reason
            reminder.due_at = now + timedelta(seconds=wait_s)
            return SendOutcome.RETRY
        reminder.status, reminder.outcome = ReminderStatus.FAILED, error.reason
        if isinstance(error, PermanentSendError):
            refused_for_good(session, reminder.patient_id, error.reason, now)
        fall_back(session, reminder, now)
        return SendOutcome.FAILED

    def _failed_on_create(self, session: Session, reminder: Reminder, result: SendResult) -> SendOutcome:
        """The provider took the request and answered with a final failure (undelivered, cancelled, a call busy or
        not answered): the reminder failed, as a status callback saying so would have made it, and the step's
        fallback runs. A callback that came first already did all that."""
        if reminder.status in (ReminderStatus.FAILED, ReminderStatus.DELIVERED):
            return SendOutcome.FAILED
        now = self.clock.now()
        taken = (
            result.sid is not None
            and session.scalar(
                sa.select(Reminder.id).where(Reminder.provider_sid == result.sid, Reminder.id != reminder.id)
            )
            is not None
        )
        reminder.provider_sid = None if taken else result.sid
        reminder.status, reminder.provider_status, reminder.error_code = (
            ReminderStatus.FAILED,
            result.status,
            result.error_code,
        )
        reminder.outcome = result.outcome or result.status
        reminder.sent_at, reminder.updated_at, reminder.lease_expires_at = now, now, None
        fall_back(session, reminder, now)
        return SendOutcome.FAILED

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
            self._sent_log = outgoing.SentLog(self.db, self.clock)
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
