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
   with the reason (21610 withdraws SMS consent, 21211/21614 flag the phone) and the policy's
   fallback; **unknown** (a read timeout after the request went out) -> ``unknown``, never re-sent:
   we prefer missing a reminder to sending it twice, and the status callback, whose URL carries the
   reminder's id, resolves it if Twilio did take the message. A worker killed mid-send leaves a
   ``sending`` reminder whose lease lapses; ``reap`` turns it ``unknown`` for the same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.bookings import Booking
from recall.clinics import Clinic
from recall.clock import Clock
from recall.db import Database
from recall.patients import Patient
from recall.reminder_planning import Channel, PolicyDoc
from recall.reminder_policy import DEFAULT_POLICY, get_version
from recall.reminders import ACTIVE_BOOKING, CONSENT, Reminder, ReminderStatus, fall_back, hand_over
from recall.sending import (
    MessageSender, PermanentSendError, SenderIdentity, SendError, TransientSendError, UnknownOutcomeError, VoiceCaller,
)
from recall.templates import DEFAULT_TEMPLATES, render
from recall.catalog import Provider
from recall.pacing import Pacer

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchSettings:
    worker_id: str
    callback_base: str  # the public base URL Twilio calls back (status callbacks, the call's TwiML)
    concurrency: int = 32
    lease: timedelta = timedelta(minutes=2)
    backoff_seconds: tuple[int, ...] = (30, 120, 600, 1800)  # after the 1st, 2nd, ... transient failure
    default_from: str | None = None  # used when a clinic's policy names no sender


@dataclass(frozen=True, order=True)
class Claimed:
    id: int
    clinic_id: int
    channel: Channel
    policy_version: int


@dataclass
class DrainResult:
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


class Dispatcher:
    def __init__(self, database: Database, clock: Clock, sender: MessageSender, caller: VoiceCaller,
                 settings: DispatchSettings):
        self.db, self.clock, self.sender, self.caller, self.settings = database, clock, sender, caller, settings
        self.pacer = Pacer(database)
        self._policies: dict[tuple[int, int], PolicyDoc] = {}
        self._lock = threading.Lock()
        self.postgres = database.dialect == "postgresql"

    # --- claiming --------------------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due reminders to this worker; committed before any of them is sent."""
        now = self.clock.now()
        due = (sa.select(Reminder.id).where(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at <= now)
               .order_by(Reminder.due_at, Reminder.id).limit(limit))
        if self.postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = (sa.update(Reminder).where(Reminder.id.in_(due.scalar_subquery()))
                .values(status=ReminderStatus.SENDING, lease_expires_at=now + self.settings.lease,
                        claimed_by=self.settings.worker_id, attempts=Reminder.attempts + 1, updated_at=now)
                .returning(Reminder.id, Reminder.clinic_id, Reminder.channel, Reminder.policy_version)
                .execution_options(synchronize_session=False))
        with self.db.writer() as session:
            rows = [Claimed(*row) for row in session.execute(stmt)]
            session.commit()
        return sorted(rows)

    def reap(self) -> int:
        """Sends whose worker died: the lease lapsed with the outcome unknown. Never re-sent blindly."""
        now = self.clock.now()
        with self.db.writer() as session:
            count = session.execute(
                sa.update(Reminder).where(Reminder.status == ReminderStatus.SENDING, Reminder.lease_expires_at < now)
                .values(status=ReminderStatus.UNKNOWN, outcome="worker_lost", updated_at=now)
                .execution_options(synchronize_session=False)).rowcount or 0
            session.commit()
        return count

    # --- one reminder ----------------------------------------------------------------------------------------

    def process(self, claimed: Claimed) -> str:
        """Wait for the sender's slot, then check, send and record one claimed reminder; returns what became of it."""
        reminder_id = claimed.id
        if claimed.channel in (Channel.SMS, Channel.VOICE):
            with self.db.reader() as session:
                rate = self._rate(session, claimed)
            self.pacer.wait_for_slot(claimed.clinic_id, claimed.channel.value, rate)
        with self.db.writer() if self.postgres else self.db.reader() as session:
            reminder, booking, patient, clinic = self._load(session, reminder_id)
            refusal = self._refusal(reminder, booking, patient)
            if refusal is not None or reminder.channel in (Channel.OPERATOR_CALL, Channel.FRONTDESK_CALL):
                if not self.postgres:  # the check ran in a read transaction: write in a new one
                    session.close()
                    return self._record(reminder_id, lambda s, r: self._settle_without_sending(s, r, refusal))
                outcome = self._settle_without_sending(session, reminder, refusal)
                session.commit()
                return outcome
            request = self._request(session, reminder, booking, patient, clinic)
            if not self.postgres:
                session.close()
            try:
                result = request()
            except SendError as error:
                if self.postgres:
                    outcome = self._failed(session, reminder, error)
                    session.commit()
                    return outcome
                return self._record(reminder_id, lambda s, r, failure=error: self._failed(s, r, failure))
            if self.postgres:
                outcome = self._sent(reminder, result.sid, result.status)
                session.commit()
                return outcome
            return self._record(reminder_id, lambda s, r: self._sent(r, result.sid, result.status))

    def _load(self, session: Session, reminder_id: int) -> tuple[Reminder, Booking, Patient, Clinic]:
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        if self.postgres:  # a cancel, move or opt-out waits for this send to be recorded
            # the patient, then the booking: the order every use case that changes them locks in
            session.execute(sa.select(Patient.id).where(Patient.id == reminder.patient_id).with_for_update(read=True))
            session.execute(sa.select(Booking.id).where(Booking.id == reminder.booking_id).with_for_update(read=True))
            session.refresh(reminder)
        booking, patient = session.get(Booking, reminder.booking_id), session.get(Patient, reminder.patient_id)
        clinic = session.get(Clinic, reminder.clinic_id)
        assert booking is not None and patient is not None and clinic is not None
        return reminder, booking, patient, clinic

    def _refusal(self, reminder: Reminder, booking: Booking, patient: Patient) -> str | None:
        """Why this reminder must not go out now, if it must not."""
        if reminder.status is not ReminderStatus.SENDING or reminder.claimed_by != self.settings.worker_id:
            return "not_ours"  # cancelled meanwhile, or reaped and re-claimed: leave it as it is
        if getattr(booking.status, "value", booking.status) not in ACTIVE_BOOKING:
            return "booking_" + getattr(booking.status, "value", str(booking.status))
        if booking.start_at <= self.clock.now():
            return "too_late"
        if patient.opted_out:
            return "opted_out"
        if not getattr(patient, CONSENT[reminder.channel]):
            return "no_consent"
        if patient.phone_invalid and reminder.channel in (Channel.SMS, Channel.VOICE):
            return "invalid_phone"
        return None

    def _settle_without_sending(self, session: Session, reminder: Reminder, refusal: str | None) -> str:
        now = self.clock.now()
        if refusal == "not_ours":
            return refusal
        if refusal is not None:
            reminder.status, reminder.outcome, reminder.updated_at = ReminderStatus.CANCELLED, refusal, now
            return "cancelled"
        hand_over(session, reminder, now)
        return "handed_over"

    def _request(self, session: Session, reminder: Reminder, booking: Booking, patient: Patient,
                 clinic: Clinic) -> Callable[[], object]:
        doc = self._policy(session, clinic.id, reminder.policy_version)
        identity = SenderIdentity(from_number=doc.sender.from_number or self.settings.default_from,
                                  messaging_service_sid=doc.sender.messaging_service_sid)
        base, key = self.settings.callback_base.rstrip("/"), f"reminder-{reminder.id}-{reminder.attempts}"
        if reminder.channel is Channel.VOICE:
            if identity.messaging_service_sid and not doc.sender.from_number:
                identity = SenderIdentity(from_number=self.settings.default_from)
            return lambda: self.caller.place_call(
                to=patient.phone_e164, twiml_url=f"{base}/webhooks/twilio/voice?r={reminder.id}",
                status_callback=f"{base}/webhooks/twilio/call-status?r={reminder.id}", idempotency_key=key,
                sender=identity)
        if identity.messaging_service_sid:
            identity = SenderIdentity(messaging_service_sid=identity.messaging_service_sid)
        provider = session.get(Provider, booking.provider_id) if booking.provider_id and doc.show_provider else None
        language = getattr(patient.language, "value", patient.language)
        template = doc.templates.get("sms", {}).get(language) or DEFAULT_TEMPLATES["sms"][patient.language]
        body = render(template, language=patient.language, clinic_name=clinic.name, start_at=booking.start_at,
                      zone=patient.timezone or clinic.timezone, provider_name=provider.name if provider else None,
                      allow_provider=doc.show_provider)
        return lambda: self.sender.send_sms(
            to=patient.phone_e164, body=body, status_callback=f"{base}/webhooks/twilio/message-status?r={reminder.id}",
            idempotency_key=key, sender=identity)

    def _policy(self, session: Session, clinic_id: int, version: int) -> PolicyDoc:
        with self._lock:
            doc = self._policies.get((clinic_id, version))
        if doc is None:
            doc = DEFAULT_POLICY if version == 0 else get_version(session, clinic_id, version).doc
            with self._lock:
                self._policies[(clinic_id, version)] = doc
        return doc

    def _rate(self, session: Session, claimed: Claimed) -> float | None:
        doc = self._policy(session, claimed.clinic_id, claimed.policy_version)
        return doc.calls_per_second if claimed.channel is Channel.VOICE else doc.sms_per_second

    def _record(self, reminder_id: int, apply: Callable[[Session, Reminder], str]) -> str:
        with self.db.writer() as session:
            reminder = session.get(Reminder, reminder_id)
            assert reminder is not None
            outcome = apply(session, reminder)
            session.commit()
            return outcome

    def _sent(self, reminder: Reminder, sid: str, status: str) -> str:
        now = self.clock.now()
        if reminder.status in (ReminderStatus.DELIVERED, ReminderStatus.FAILED):
            return "sent"  # its status callback was faster than this thread
        reminder.status, reminder.provider_sid, reminder.provider_status = ReminderStatus.SENT, sid, status
        reminder.sent_at, reminder.updated_at, reminder.lease_expires_at, reminder.outcome = now, now, None, None
        return "sent"

    def _failed(self, session: Session, reminder: Reminder, error: SendError) -> str:
        now = self.clock.now()
        reminder.error_code, reminder.updated_at, reminder.lease_expires_at = error.code, now, None
        if isinstance(error, UnknownOutcomeError):
            reminder.status, reminder.outcome = ReminderStatus.UNKNOWN, error.reason
            return "unknown"
        if isinstance(error, TransientSendError) and reminder.attempts <= len(self.settings.backoff_seconds):
            wait_s = self.settings.backoff_seconds[reminder.attempts - 1]
            reminder.status, reminder.outcome = ReminderStatus.PLANNED, error.reason
            reminder.due_at = now + timedelta(seconds=wait_s)
            return "retry"
        reminder.status, reminder.outcome = ReminderStatus.FAILED, error.reason
        if isinstance(error, PermanentSendError):
            patient = session.get(Patient, reminder.patient_id)
            assert patient is not None
            if error.reason == "opted_out":
                patient.consent_sms, patient.updated_at = False, now
            elif error.reason == "invalid_phone":
                patient.phone_invalid, patient.updated_at = True, now
        fall_back(session, reminder, now)
        return "failed"

    def _safely(self, claimed: Claimed) -> str:
        """A bug or a lost database must not stop the loop; the reminder's lease lapses and reap marks it."""
        try:
            return self.process(claimed)
        except Exception:  # noqa: BLE001 - logged without patient data, counted, and the loop goes on
            _log.exception("sending reminder %s failed unexpectedly", claimed.id)
            return "error"

    # --- the loop --------------------------------------------------------------------------------------------

    def drain(self, *, max_seconds: float | None = None, pool: ThreadPoolExecutor | None = None) -> DrainResult:
        """Send everything due, ``concurrency`` at a time, until nothing is due (or time is up)."""
        result, deadline = DrainResult(), None if max_seconds is None else time.monotonic() + max_seconds
        self.reap()
        own = pool is None
        pool = pool or ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="recall-send")
        inflight: set[Future[str]] = set()
        try:
            while True:
                free = self.settings.concurrency - len(inflight)
                claimed: list[Claimed] = []
                if free > 0 and (deadline is None or time.monotonic() < deadline):
                    claimed = self.claim(free)
                    inflight |= {pool.submit(self._safely, row) for row in claimed}
                if not inflight:
                    return result
                done, inflight = wait(inflight, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    result.add(future.result())
        finally:
            if own:
                pool.shutdown(wait=True)
