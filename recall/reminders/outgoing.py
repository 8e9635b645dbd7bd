"""What one claimed reminder sends: read in one statement, checked, and turned into a provider request.

Why it is built this way: a worker sends hundreds of reminders a second, and the ORM's per-object
loading (the reminder, its booking, patient and clinic, four statements and four objects) cost more
CPU than the Twilio SDK's own request. Sending needs only a handful of columns, so ``load`` reads them
in one joined Core statement into a plain record, and the dispatcher records a success with one Core
UPDATE (``recording``). Everything that changes more than the reminder row (a refusal, a hand-over, a failure with its
fallback) still goes through the ORM and the domain's functions.

Calling hours are checked here, at the moment of sending, whatever put the reminder in the queue: the planner
placed each step inside the hours, but a fallback is due at once, a retry after its backoff, and a worker that
was down sends late. Outside the patient's hours an SMS or a call is not sent: it waits for the hours to open
while that still makes sense for the visit (``defer``), else it is skipped, with the reason on the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language, Patient
from recall.common.timeutil import zone as zone_info
from recall.reminders.outcomes import Refusal, SendOutcome
from recall.reminders.planning import Channel, Hours, PolicyDoc, earliest_allowed, is_allowed, makes_sense
from recall.reminders.reminders import CONSENT, Reminder, ReminderStatus
from recall.reminders.sending import SenderIdentity
from recall.reminders.templates import SMS, render
from recall.visits.booking import ACTIVE as ACTIVE_BOOKING
from recall.visits.bookings import Booking, BookingStatus


@dataclass(frozen=True)
class Outgoing:
    """The columns a send needs, as they are now (on PostgreSQL, under the patient's and booking's locks)."""

    reminder_id: int
    status: ReminderStatus
    claimed_by: str | None
    channel: Channel
    attempts: int
    policy_version: int
    clinic_name: str
    clinic_zone: str
    booking_status: BookingStatus  # a str enum: compares and joins as its text
    start_at: datetime
    provider_id: int | None
    phone: str
    language: Language
    patient_zone: str | None
    opted_out: bool
    consent_sms: bool
    consent_voice: bool
    consent_call: bool
    phone_invalid: bool
    account_sid: str | None  # the clinic's own Twilio account; None: the service-wide one
    lease_expires_at: datetime | None  # the claim's lease: a send on a lapsed one may race a reaper's recovery
    held_out: bool | None  # the booking is in the reminder holdout: no automated send

    @property
    def zone(self) -> str:
        return self.patient_zone or self.clinic_zone


_COLUMNS = (
    Reminder.id,
    Reminder.status,
    Reminder.claimed_by,
    Reminder.channel,
    Reminder.attempts,
    Reminder.policy_version,
    Clinic.name,
    Clinic.timezone,
    Booking.status,
    Booking.start_at,
    Booking.provider_id,
    Patient.phone_e164,
    Patient.language,
    Patient.timezone,
    Patient.opted_out,
    Patient.consent_sms,
    Patient.consent_voice,
    Patient.consent_call,
    Patient.phone_invalid,
    Clinic.twilio_account_sid,
    Reminder.lease_expires_at,
    Booking.holdout,
)


# Built once: a statement object caches its cache key, so each execution skips building and keying it.
_LOAD = (
    sa.select(*_COLUMNS)
    .join(Booking, Booking.id == Reminder.booking_id)
    .join(Patient, Patient.id == Reminder.patient_id)
    .join(Clinic, Clinic.id == Reminder.clinic_id)
    .where(Reminder.id == sa.bindparam("reminder_id"))
)
_PROVIDER = sa.select(Provider.name).where(Provider.id == sa.bindparam("provider_id"))
# On PostgreSQL the booking is locked FOR SHARE by the same read (the patient was locked just before).
_LOAD_SHARING_BOOKING = _LOAD.with_for_update(read=True, of=Booking)


def load(conn: sa.Connection, reminder_id: int, *, share_booking: bool = False) -> Outgoing | None:
    row = conn.execute(_LOAD_SHARING_BOOKING if share_booking else _LOAD, {"reminder_id": reminder_id}).first()
    return None if row is None else Outgoing(*tuple(row))


AUTOMATED = (Channel.SMS, Channel.VOICE)


def refusal(out: Outgoing, worker_id: str, now: datetime, hours: Hours) -> Refusal | None:
    """Why this reminder must not go out now, if it must not. ``hours``: the calling hours of the policy that
    planned it, in the patient's zone (the clinic's when unknown); outside them it is ``OUTSIDE_HOURS``, which
    ``defer`` settles (a human call is handed over: the queue keeps the hours when it hands the call out)."""
    if out.status is not ReminderStatus.SENDING or out.claimed_by != worker_id:
        return Refusal.NOT_OURS  # cancelled meanwhile, or reaped and re-claimed: leave it as it is
    if out.lease_expires_at is None or out.lease_expires_at <= now:
        return Refusal.LEASE_LAPSED  # we woke too late (a pause, a stall): a reaper may be recovering it; give it up
    if out.booking_status not in ACTIVE_BOOKING:
        return Refusal.booking(out.booking_status.value)
    if out.start_at <= now:
        return Refusal.TOO_LATE
    if out.opted_out:
        return Refusal.OPTED_OUT
    if out.held_out and out.channel in AUTOMATED:
        return Refusal.HELD_OUT
    if not getattr(out, CONSENT[out.channel]):
        return Refusal.NO_CONSENT
    if out.phone_invalid and out.channel in AUTOMATED:
        return Refusal.INVALID_PHONE
    if out.channel in AUTOMATED and not is_allowed(now, zone_info(out.zone), hours):
        return Refusal.OUTSIDE_HOURS
    return None


def defer(session: Session, reminder: Reminder, hours: Hours, now: datetime, worker_id: str) -> SendOutcome:
    """A claimed SMS or call found outside the patient's calling hours: back to the queue, due when they next
    open, if that is still in time for the visit (``makes_sense``, the planner's rule); else skipped. Either way
    the reason is on the row (``moved_reason`` or ``outcome``) for staff to read. The caller commits."""
    if reminder.status is not ReminderStatus.SENDING or reminder.claimed_by != worker_id:
        return SendOutcome.NOT_OURS  # cancelled or reaped since it was read (SQLite reads before this write)
    booking = session.get(Booking, reminder.booking_id)
    patient = session.get(Patient, reminder.patient_id)
    clinic = session.get(Clinic, reminder.clinic_id)
    assert booking is not None and patient is not None and clinic is not None
    opening = earliest_allowed(now, zone_info(patient.timezone or clinic.timezone), hours)
    reminder.lease_expires_at, reminder.claimed_by, reminder.updated_at = None, None, now
    if opening is not None and makes_sense(opening, booking.start_at):
        reminder.status, reminder.due_at = ReminderStatus.PLANNED, opening
        reminder.moved_reason = Refusal.OUTSIDE_HOURS
        reminder.attempts = max(0, reminder.attempts - 1)  # nothing was sent: this claim was no attempt
        return SendOutcome.DEFERRED
    reminder.status, reminder.outcome = ReminderStatus.SKIPPED, Refusal.OUTSIDE_HOURS
    return SendOutcome.SKIPPED


@dataclass(frozen=True)
class Request:
    """One provider request: an SMS with its text, or a call whose script is fetched from ``twiml_url``."""

    channel: Channel
    to: str
    sender: SenderIdentity
    status_callback: str
    idempotency_key: str
    body: str | None = None
    twiml_url: str | None = None


def build(
    conn: sa.Connection, out: Outgoing, doc: PolicyDoc, *, callback_base: str, default_from: str | None
) -> Request:
    """The request for an SMS or voice reminder. Callback URLs carry the reminder's id, so that a callback can
    resolve a send whose outcome we never learnt; the idempotency key names the attempt."""
    base, key, rid = callback_base.rstrip("/"), f"reminder-{out.reminder_id}-{out.attempts}", out.reminder_id
    number, account = doc.sender.from_number or default_from, out.account_sid
    if out.channel is Channel.VOICE:  # a Messaging Service cannot place calls
        return Request(
            Channel.VOICE,
            out.phone,
            SenderIdentity(from_number=number, account_sid=account),
            f"{base}/webhooks/twilio/call-status?r={rid}",
            key,
            twiml_url=f"{base}/webhooks/twilio/voice?r={rid}",
        )
    service = doc.sender.messaging_service_sid
    sender = (
        SenderIdentity(messaging_service_sid=service, account_sid=account)
        if service
        else SenderIdentity(from_number=number, account_sid=account)
    )
    provider = None
    if doc.show_provider and out.provider_id is not None:
        provider = conn.scalar(_PROVIDER, {"provider_id": out.provider_id})
    body = render(
        doc.template(SMS, out.language),
        language=out.language,
        clinic_name=out.clinic_name,
        start_at=out.start_at,
        zone=out.zone,
        provider_name=provider,
        allow_provider=doc.show_provider,
    )
    return Request(Channel.SMS, out.phone, sender, f"{base}/webhooks/twilio/message-status?r={rid}", key, body=body)
