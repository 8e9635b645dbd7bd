"""Sending one claimed reminder: wait for its sender's slot, check it, send it, and record what became of it.

On PostgreSQL one transaction holds the patient and the booking ``FOR SHARE`` from the check to the record, so a
cancel, move or opt-out either committed before the check (the reminder reads ``cancelled`` and is not sent) or
waits until the result is recorded. On SQLite, where a writer holds the whole database, the check reads just
before the request and the result is written in a transaction of its own. What a refusal or a send error does
to the reminder is ``recall.reminders.settling``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.patients import Patient
from recall.common.clock import Clock
from recall.common.db import Database
from recall.reminders import leases, outgoing, recording, settling
from recall.reminders.leases import Claimed
from recall.reminders.outcomes import Refusal, SendOutcome
from recall.reminders.pacing import Pacer
from recall.reminders.planning import Channel, Hours, PolicyDoc
from recall.reminders.policy_versions import DEFAULT_POLICY, get_version
from recall.reminders.reminders import Reminder
from recall.reminders.sending import MessageSender, SendError, SendObserver, SendReport, SendResult, VoiceCaller

# The statements every send runs, built once (a statement caches its own cache key).
_SHARE_PATIENT = sa.select(Patient.id).where(Patient.id == sa.bindparam("patient_id")).with_for_update(read=True)


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


class ClaimedSender:
    """Sends claimed reminders, one per call of ``process``; safe to call from many threads at once."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: MessageSender,
        caller: VoiceCaller,
        settings: DispatchSettings,
        observer: SendObserver | None = None,
    ) -> None:
        self.db, self.clock, self.sender, self.caller, self.settings = database, clock, sender, caller, settings
        self.observer = observer
        self._trace = threading.local()  # this thread's send: the provider's error code, the rate limit's wait
        self.pacer = Pacer(database)
        self._policies: dict[tuple[int, int], PolicyDoc] = {}
        self._lock = threading.Lock()
        self.postgres = database.dialect == "postgresql"
        self._sent_log: recording.SentLog | None = None  # during a drain on SQLite

    def process(self, claimed: Claimed) -> SendOutcome:
        """Wait for the sender's slot, then check, send and record one claimed reminder; returns what became of it.

        A slot that has passed by the time the request would leave (this thread, or the whole process, woke
        late) is not used: a new one is taken, and the reminder checked again before it is sent."""
        rate = self._rate(claimed) if claimed.channel in (Channel.SMS, Channel.VOICE) else None
        self._trace.code, waited = None, 0.0
        while True:
            slot = None
            if rate:
                slot = self.pacer.reserve(claimed.clinic_id, claimed.channel.value, rate)
                delay = max(0.0, slot - self.pacer.now())
                self._keep_lease(claimed, delay)
                if delay > 0:
                    self.pacer.sleep(delay)
                    waited += delay
            outcome = (
                self._send_locked(claimed, rate, slot) if self.postgres else self._send_unlocked(claimed, rate, slot)
            )
            if outcome is not None:
                if self.observer is not None:
                    self.observer.observed(self._report(claimed, outcome, waited))
                return outcome

    def _report(self, claimed: Claimed, outcome: SendOutcome, waited: float) -> SendReport:
        late = (self.clock.now() - claimed.send_at).total_seconds() if outcome is SendOutcome.SENT else None
        return SendReport(
            reminder_id=claimed.id,
            clinic_id=claimed.clinic_id,
            booking_id=claimed.booking_id,
            channel=claimed.channel.value,
            outcome=outcome.value,
            provider_code=self._trace.code,
            waited_seconds=waited,
            due_to_sent_seconds=max(0.0, late) if late is not None else None,
        )

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
                        outcome = self._in_orm(conn, claimed.id, self._failed_on_create(result))
                    else:
                        recording.record_sent(conn, [recording.sent(claimed.id, result, self.clock.now())])
                        outcome = SendOutcome.SENT
                except SendError as error:
                    outcome = self._in_orm(conn, claimed.id, self._failed(error))
            conn.commit()
            return outcome

    def _send_unlocked(self, claimed: Claimed, rate: float | None, slot: float | None) -> SendOutcome | None:
        """SQLite: a writer holds the whole database, so none is held across a request. The check reads just
        before the request, and the result is written in a transaction of its own (within a drain, a success
        in a batch with others: ``recording.SentLog``). None: the slot passed before the request could leave."""
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
            return self._record(claimed.id, self._failed(error))
        if result is None:
            return None
        if result.event.failed:
            return self._record(claimed.id, self._failed_on_create(result))
        if self._sent_log is not None:
            self._sent_log.add(claimed.id, result)
        else:
            with self.db.connection(write=True) as conn:
                recording.record_sent(conn, [recording.sent(claimed.id, result, self.clock.now())])
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
        """A reminder that waits long for its sending slot keeps its lease (``leases.renew``)."""
        now, lease = self.clock.now(), self.settings.lease
        if claimed.lease_expires_at - now < timedelta(seconds=delay) + lease / 2:
            leases.renew(self.db, claimed.id, self.settings.worker_id, now, now + timedelta(seconds=delay) + lease)

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
        def hours() -> Hours:
            return self._policy(reminder.clinic_id, reminder.policy_version).hours

        return settling.without_sending(session, reminder, refusal, self.clock.now(), self.settings.worker_id, hours)

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
            outcome = apply(session, ClaimedSender._reminder(session, reminder_id))
            session.flush()
            return outcome

    def _failed(self, error: SendError) -> Callable[[Session, Reminder], SendOutcome]:
        """What a send error does to the reminder (``settling.failed``), to be applied in a transaction."""
        self._trace.code = error.code if error.code is not None else error.status
        return lambda session, reminder: settling.failed(
            session, reminder, error, self.clock.now(), self.settings.backoff_seconds
        )

    def _failed_on_create(self, result: SendResult) -> Callable[[Session, Reminder], SendOutcome]:
        """A create answered with a final failure (``settling.failed_on_create``), to be applied likewise."""
        self._trace.code = result.error_code
        return lambda session, reminder: settling.failed_on_create(session, reminder, result, self.clock.now())
