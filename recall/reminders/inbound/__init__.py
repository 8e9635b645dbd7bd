"""What comes back after a reminder went out: delivery receipts, call progress, key presses and SMS replies.

Why it is built this way:

* Twilio retries webhooks and does not keep them in order. A reminder's status
  only moves forward (a late "sent" after "delivered" changes nothing), so a
  receipt needs no bookkeeping of its own. A key press or an SMS reply has
  effects that must not repeat (a cancellation, a task), so it is recorded in
  ``webhook_receipts`` first; a retry finds its receipt, changes nothing and is
  answered from the state the first delivery left.
* A callback acts only on our own sends: the reminder whose SID we recorded (and, when its URL names a
  reminder with ``?r=<id>``, that very one). The one exception is a reminder whose send ended ``unknown``
  (our request may have reached Twilio, no SID recorded): its callback URL names it, so the first callback
  tells us the SID and what became of it. A callback naming a reminder never sent (still planned, or being
  sent right now), or with a SID that is not the named reminder's, changes nothing. It is answered 200 all
  the same, or Twilio would retry it for hours, and logged with the reminder's id only. A key press or the
  call's script is served only to the reminder's own call, by the same rule.
* A reminder that fails for good runs its step's fallback once, on the
  transition to ``failed``, exactly as the sender does for a refusal
  (``reminders.fall_back``): a new reminder due now (for a human call, an
  operator's task), unless the booking is over or the patient may not be
  contacted that way.
* Booking changes go through ``recall.bookings`` so the credit ledger and the
  recall re-opening stay in one place. Those use cases commit, so they are the
  last step; every other path commits here, once.
* No Flask, no Twilio: the web package checks signatures and writes TwiML. No SMS body or phone is logged.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.catalog import Provider
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language, Patient, opt_out
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import ValidationError
from recall.common.text import UNSTORABLE
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus, open_task
from recall.reminders import voicemail
from recall.reminders.accounts import account_of
from recall.reminders.acknowledgements import Ack, ack_text
from recall.reminders.delivery import FINAL, Delivery, DeliveryReport
from recall.reminders.planning import Channel, Fallback
from recall.reminders.policy import current_policy
from recall.reminders.refusals import refused_for_good
from recall.reminders.reminders import (
    Reminder,
    ReminderStatus,
    fall_back,
    hand_over,
    plan_booking,
)
from recall.reminders.replies import Intent, classify
from recall.reminders.reply_routing import clinic_for_reply
from recall.reminders.templates import DEFAULT_TEMPLATES, VOICE, render
from recall.visits.bookings import ACTIVE, Booking, BookingStatus, cancel_booking, confirm_booking

log = logging.getLogger(__name__)

SENT, DELIVERED, FAILED = ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.FAILED
# A callback may name a reminder that has no SID yet only when our request may have reached Twilio and we never
# learnt its answer: a planned reminder was never sent, and one being sent is given its SID by the sender.
UNRESOLVED = (ReminderStatus.UNKNOWN,)
# Statuses a callback may move on from (cancelled, skipped and handed-over reminders are someone else's story).
ADVANCING = (*UNRESOLVED, SENT, DELIVERED, FAILED)
MAX_TEXT = 1600  # RecallTask.request_text

KEYS = {"1": Intent.CONFIRM, "2": Intent.CANCEL, "3": Intent.RESCHEDULE}


class WebhookReceipt(Base):
    """A webhook from Twilio that took effect: a retried delivery of the same one finds its row and does nothing."""

    __tablename__ = "webhook_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    sid: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("kind", "sid", name="uq_webhook_receipts_kind_sid"),)


def first_receipt(session: Session, kind: str, sid: str, now: datetime) -> bool:
    """Record that webhook ``sid`` of ``kind`` is being applied; False if it already was (the caller commits).

    A concurrent duplicate loses on the unique constraint and rolls back (the web layer answers 409,
    and Twilio's retry then finds the receipt)."""
    if session.scalar(sa.select(WebhookReceipt.id).where(WebhookReceipt.kind == kind, WebhookReceipt.sid == sid)):
        return False
    session.add(WebhookReceipt(kind=kind, sid=sid, received_at=now))
    session.flush()
    return True


# --- delivery receipts and call progress ------------------------------------------------------------------------


def message_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    report: DeliveryReport,
    account: str | None = None,
) -> str:
    """Apply an SMS status callback from the provider's ``account`` (None: the service-wide one); returns what
    happened ("updated", "unchanged", "ignored")."""
    reminder = _reminder_for(session, reminder_id, report.sid, Channel.SMS, account)
    if reminder is None:
        return "ignored"
    return _advance(session, clock.now(), reminder, report, _status_of(report.event), report.outcome)


def call_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    report: DeliveryReport,
    account: str | None = None,
) -> str:
    """Apply a voice call's progress. An answering machine is not a reached patient: by the step's choice the call
    left a voicemail (delivered, "voicemail", no fallback) or hung up (failed, "machine": the fallback runs);
    ``voicemail.leaves_message`` decides both here and in the call's script, so the two agree."""
    reminder = _reminder_for(session, reminder_id, report.sid, Channel.VOICE, account)
    if reminder is None:
        return "ignored"
    now = clock.now()
    if report.event is Delivery.DELIVERED and report.answered_by.is_machine:
        if voicemail.leaves_message(session, reminder, report.answered_by):
            return _advance(session, now, reminder, report, DELIVERED, "voicemail")
        return _advance(session, now, reminder, report, FAILED, "machine")
    outcome = "answered" if report.event is Delivery.DELIVERED else report.outcome
    return _advance(session, now, reminder, report, _status_of(report.event), outcome)


def _status_of(event: Delivery) -> ReminderStatus:
    if event is Delivery.DELIVERED:
        return DELIVERED
    return FAILED if event.failed else SENT


def _reminder_for(
    session: Session, reminder_id: int | None, sid: str, channel: Channel, account: str | None
) -> Reminder | None:
    """The reminder a callback is about, locked: the one whose SID it carries (the one its URL names, if it names
    one), else the ``unknown`` one its URL names, which takes the SID. None (and nothing written) otherwise."""
    reminder, why = _own_send(session, reminder_id, sid, account, lock=True)
    if reminder is not None and (reminder.channel is not channel or reminder.status not in ADVANCING):
        reminder, why = None, "a reminder this callback cannot move"
    if reminder is None:
        session.rollback()  # nothing written: Twilio gets its 200 and stops
        log.info("callback ignored (reminder %s): %s", reminder_id, why)
    return reminder


def _own_send(
    session: Session, reminder_id: int | None, sid: str, account: str | None, *, lock: bool
) -> tuple[Reminder | None, str]:
    """The reminder ``sid`` is ours for, and why not when none is: the SID we recorded, or an ``unknown`` send
    without one that the URL names (``lock``: locked, and given the SID; the caller commits or rolls back).
    Either way its clinic's Twilio account must be ``account``, the one the webhook came from."""
    reminder, why = _named_send(session, reminder_id, sid, lock=lock)
    if reminder is not None and account_of(session, reminder.clinic_id) != account:
        return None, "it came from another Twilio account than the clinic's"
    if reminder is not None and lock and reminder.provider_sid is None:
        reminder.provider_sid = sid
    return reminder, why


def _named_send(session: Session, reminder_id: int | None, sid: str, *, lock: bool) -> tuple[Reminder | None, str]:
    """The reminder whose SID this is (and the URL's id names, if any), else the ``unknown`` one without a SID
    (or ``sent`` one without a SID) the URL names; and why not when neither."""
    stmt = sa.select(Reminder).where(Reminder.provider_sid == sid)
    reminder = session.scalar(stmt.with_for_update() if lock else stmt)
    if reminder is not None:
        if reminder_id is not None and reminder.id != reminder_id:
            return None, f"the SID is reminder {reminder.id}'s"
        return reminder, ""
    if reminder_id is None:
        return None, "a SID we never recorded"
    stmt = sa.select(Reminder).where(Reminder.id == reminder_id)
    named = session.scalar(stmt.with_for_update() if lock else stmt)
    if named is None:
        return None, "no such reminder"
    if named.provider_sid is not None:
        return None, "the SID is not the one we recorded"
    # (also ``sent`` without a SID: Twilio answered the create with a null one, or one another reminder held)
    if named.status not in (*UNRESOLVED, SENT):
        return None, f"a {named.status.value} reminder has no send to resolve"
    return named, ""


def _advance(
    session: Session,
    now: datetime,
    reminder: Reminder,
    report: DeliveryReport,
    new: ReminderStatus,
    outcome: str | None,
) -> str:
    progress = FINAL if new in (DELIVERED, FAILED) else report.progress
    if progress <= _progress(reminder, report):
        session.commit()  # a resolved SID, if any, is kept
        return "unchanged"
    reminder.status, reminder.provider_status, reminder.updated_at = new, report.provider_status, now
    reminder.sent_at = reminder.sent_at or now
    if new is DELIVERED:
        reminder.outcome = outcome if reminder.channel is Channel.VOICE else None
    elif new is FAILED:
        reminder.error_code, reminder.outcome = report.provider_code, outcome
        # e.g. the provider blocks SMS to them (they sent STOP): as for the sender's refusal, SMS consent goes
        refused_for_good(session, reminder.patient_id, report.failure, now)
        _fallback(session, now, reminder)
    session.commit()
    log.info("reminder %s is %s (provider status %s)", reminder.id, new.value, report.provider_status)
    return "updated"


def _progress(reminder: Reminder, report: DeliveryReport) -> int:
    if reminder.status in (DELIVERED, FAILED):
        return FINAL
    if reminder.status is SENT:
        return report.progress_of_recorded(reminder.provider_status)
    return 0


def _fallback(session: Session, now: datetime, failed: Reminder) -> Reminder | None:
    """The step's fallback, as the sender runs it on a refusal (``reminders.fall_back``): due now, or for a human
    call an operator's task at once. A fallback already waiting that way is not planned twice."""
    if failed.fallback is Fallback.NONE or session.scalar(
        sa.select(Reminder.id).where(
            Reminder.booking_id == failed.booking_id,
            Reminder.offset_minutes == failed.offset_minutes,
            Reminder.channel == Channel(failed.fallback.value),
            Reminder.status == ReminderStatus.PLANNED,
        )
    ):
        return None
    backup = fall_back(session, failed, now)
    if backup is not None and backup.channel is Channel.OPERATOR_CALL:
        hand_over(session, backup, now)
    return backup


# --- the voice call ---------------------------------------------------------------------------------------------


def voice_script(
    session: Session, reminder_id: int, call_sid: str | None = None, account: str | None = None
) -> tuple[str, str] | None:
    """What the call says, in the patient's language and zone; None when there is nothing to remind of, or the
    call asking is not the reminder's own (``call_sid``, checked by the rule of ``_own_send``)."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.channel is not Channel.VOICE:
        return None
    if call_sid is not None and _own_send(session, reminder_id, call_sid, account, lock=False)[0] is not reminder:
        log.info("call script refused for reminder %s: not its own call", reminder_id)
        return None
    subject = voicemail.call_subject(session, reminder)
    if subject is None:
        return None
    booking, patient, clinic = subject
    _, doc = current_policy(session, clinic.id)
    language = Language(patient.language)
    provider = session.get(Provider, booking.provider_id) if doc.show_provider and booking.provider_id else None
    name, start, zone = clinic.name, booking.start_at, patient.timezone or clinic.timezone
    for template in (doc.template(VOICE, language), DEFAULT_TEMPLATES[VOICE][language]):
        try:
            return render(
                template,
                language=language,
                clinic_name=name,
                start_at=start,
                zone=zone,
                provider_name=provider.name if provider else None,
                allow_provider=doc.show_provider,
            ), language.value
        except ValidationError:  # e.g. the clinic's text names a provider this visit has not got
            continue
    return None  # not reached: the built-in texts always render


def own_call(session: Session, reminder_id: int, call_sid: str, account: str | None) -> bool:
    """Whether ``call_sid`` (from ``account``) is the voice reminder's own call, by the rule of ``_own_send``."""
    reminder = _own_send(session, reminder_id, call_sid, account, lock=False)[0]
    return reminder is not None and reminder.channel is Channel.VOICE


def gather(
    session: Session, clock: Clock, *, reminder_id: int, call_sid: str, digits: str, account: str | None = None
) -> Ack:
    """A key press during the call: 1 confirms, 2 cancels, 3 asks for a person; anything else repeats.

    Only the reminder's own call may answer it (its recorded SID, or any while its send is ``unknown`` and no SID
    is recorded): a key press from another call changes nothing and just says goodbye."""
    reminder, why = _own_send(session, reminder_id, call_sid, account, lock=False)  # its callbacks record the SID
    patient = session.get(Patient, reminder.patient_id) if reminder is not None else None
    if reminder is None or patient is None or reminder.channel is not Channel.VOICE:
        session.rollback()
        log.info("key press ignored (reminder %s): %s", reminder_id, why or "not a voice reminder")
        return Ack("goodbye", Language.EN.value)
    language = Language(patient.language).value
    intent = KEYS.get(digits)
    if intent is None:
        session.rollback()
        return Ack("repeat", language)
    now = clock.now()
    fresh = first_receipt(session, "gather", f"{call_sid}:{digits}", now)
    booking = _locked_booking(session, reminder.booking_id)
    key = _answer(session, clock, booking, patient, intent, text=None, apply=fresh, reason="patient cancelled by phone")
    log.info("key press on reminder %s: %s -> %s%s", reminder.id, intent.value, key, "" if fresh else " (retry)")
    return Ack(key, language)


# --- SMS replies ------------------------------------------------------------------------------------------------


def inbound_sms(
    session: Session,
    clock: Clock,
    *,
    message_sid: str,
    from_number: str,
    to_number: str | None,
    body: str,
    messaging_service_sid: str | None = None,
    default_from: str | None = None,
    account: str | None = None,
) -> str | None:
    """A patient's SMS: confirm, cancel, opt out or in, or a text for an operator. Returns the reply to send.

    It is for the one clinic that owns the number (or Messaging Service) it was sent to
    (``reply_routing.clinic_for_reply``); a number no clinic owns, or several share, changes nothing. Within
    that clinic the sender is matched by phone: of its patients with that number, the one who got the most
    recent SMS reminder (its booking is what they answer); without any, the newest patient with that number,
    and a confirm or cancel becomes a request for an operator, since we cannot tell which booking it means.
    """
    now = clock.now()
    clinic_id = clinic_for_reply(
        session,
        to_number=to_number,
        messaging_service_sid=messaging_service_sid,
        default_from=default_from,
        account=account,
    )
    if clinic_id is None:
        session.rollback()
        log.info("inbound sms %s to a number no one clinic owns; ignored", message_sid)
        return None
    patients = list(
        session.scalars(
            sa.select(Patient)
            .where(Patient.clinic_id == clinic_id, Patient.phone_e164 == from_number)
            .order_by(Patient.created_at.desc(), Patient.id.desc())
        )
    )
    if not patients:
        session.rollback()
        log.info("inbound sms %s from a number no patient of clinic %s has; ignored", message_sid, clinic_id)
        return None
    reminder = session.scalar(
        sa.select(Reminder)
        .where(
            Reminder.patient_id.in_([p.id for p in patients]),
            Reminder.channel == Channel.SMS,
            Reminder.status.in_((SENT, DELIVERED)),
        )
        .order_by(sa.func.coalesce(Reminder.sent_at, Reminder.updated_at).desc(), Reminder.id.desc())
        .limit(1)
    )
    patient = next((p for p in patients if reminder is not None and p.id == reminder.patient_id), patients[0])
    reply = classify(body, patient.language)
    fresh = first_receipt(session, "sms", message_sid, now)
    log.info(
        "inbound sms %s for patient %s: %s%s", message_sid, patient.id, reply.intent.value, "" if fresh else " (retry)"
    )
    if fresh and reply.intent is Intent.OPT_OUT:  # Twilio answers STOP and START itself: we only follow,
        _opt_out_phone(session, now, clinic_id, from_number)  # in the clinic they wrote to
    elif fresh and reply.intent is Intent.OPT_IN:
        _opt_in_phone(session, now, clinic_id, from_number)
    if reply.intent in (Intent.OPT_OUT, Intent.OPT_IN):
        session.commit()
        return None
    booking = _locked_booking(session, reminder.booking_id) if reminder is not None else None
    key = _answer(
        session,
        clock,
        booking,
        patient,
        reply.intent,
        text=_storable(reply.text),
        apply=fresh,
        reason="patient cancelled by SMS",
    )
    return ack_text(key, patient.language)


def _opt_out_phone(session: Session, now: datetime, clinic_id: int, phone: str) -> None:
    """Every patient of the clinic with this number: no more contact, nothing goes out."""
    for patient in session.scalars(
        sa.select(Patient).where(Patient.clinic_id == clinic_id, Patient.phone_e164 == phone)
    ):
        if not patient.opted_out:
            opt_out(session, patient, now, None)  # closes their tasks and cancels what waits to go out


def _opt_in_phone(session: Session, now: datetime, clinic_id: int, phone: str) -> None:
    """START: the clinic may contact them again, and their future bookings get reminders again."""
    for patient in session.scalars(
        sa.select(Patient).where(Patient.clinic_id == clinic_id, Patient.phone_e164 == phone, Patient.opted_out)
    ):
        patient.opted_out, patient.opted_out_at, patient.updated_at = False, None, now
        session.flush()
        for booking in session.scalars(
            sa.select(Booking).where(
                Booking.patient_id == patient.id, Booking.status.in_(ACTIVE), Booking.start_at > now
            )
        ):
            plan_booking(session, booking, now, reason="opted_in")


# --- what confirm, cancel and a request do ----------------------------------------------------------------------


def _answer(
    session: Session,
    clock: Clock,
    booking: Booking | None,
    patient: Patient,
    intent: Intent,
    *,
    text: str | None,
    apply: bool,
    reason: str,
) -> str:
    """Act on the patient's answer about ``booking`` (None: no reminder to go by) and commit; returns the ack key.

    ``apply`` is False for a retried webhook: nothing changes, and the ack is read from the state the first
    delivery left. A booking that is over, or whose appointment has begun, is not changed by a reply.
    """
    now = clock.now()
    if intent not in (Intent.CONFIRM, Intent.CANCEL) or booking is None:
        if apply:  # a person reads what they wrote (or calls them back after a 3)
            live = booking if booking is not None and booking.status in ACTIVE else None
            _task(session, now, patient, live, TaskReason.PATIENT_REQUEST, text)
        session.commit()
        return "callback"
    if not apply or booking.status not in ACTIVE or booking.start_at <= now:
        session.commit()
        done = BookingStatus.CONFIRMED if intent is Intent.CONFIRM else BookingStatus.CANCELLED
        return ("confirmed" if intent is Intent.CONFIRM else "cancelled") if booking.status is done else "unchanged"
    # staff id 0 is never written by confirm or cancel: they record no actor, only the clinic
    system = Actor(staff_id=0, clinic_id=booking.clinic_id, role=Role.MANAGER)
    if intent is Intent.CONFIRM:
        if booking.status is BookingStatus.CONFIRMED:
            session.commit()
        else:
            confirm_booking(session, clock, system, booking.id)  # commits
        return "confirmed"
    if booking.follow_up_of_visit_id is None:  # else the core re-opens the visit's recall work itself
        _task(session, now, patient, booking, TaskReason.BOOKING_CANCELLED, None)
    cancel_booking(session, clock, system, booking.id, reason)  # commits
    return "cancelled"


def _task(
    session: Session, now: datetime, patient: Patient, booking: Booking | None, reason: TaskReason, text: str | None
) -> RecallTask:
    """An operator's task due now; a second request about the same booking joins the open one."""
    same_booking = (
        RecallTask.origin_booking_id.is_(None) if booking is None else RecallTask.origin_booking_id == booking.id
    )
    task = session.scalar(
        sa.select(RecallTask)
        .where(
            RecallTask.patient_id == patient.id,
            RecallTask.reason == reason,
            RecallTask.status == TaskStatus.OPEN,
            same_booking,
        )
        .limit(1)
    )
    if task is None:
        clinic = session.get(Clinic, patient.clinic_id)
        assert clinic is not None
        task = open_task(
            session,
            clinic=clinic,
            patient_id=patient.id,
            reason=reason,
            due_at=now,
            now=now,
            follow_up_date=None,
            service_id=booking.service_id if booking else None,
            provider_id=booking.provider_id if booking else None,
            origin_booking_id=booking.id if booking else None,
        )
    if text:
        joined = f"{task.request_text}\n{text}" if task.request_text else text
        task.request_text = joined[-MAX_TEXT:]
    return task


def _locked_booking(session: Session, booking_id: int) -> Booking | None:
    """The booking, locked after its patient: the order every use case that changes them locks in."""
    patient_id = session.scalar(sa.select(Booking.patient_id).where(Booking.id == booking_id))
    if patient_id is None:
        return None
    session.execute(sa.select(Patient.id).where(Patient.id == patient_id).with_for_update())
    return session.scalar(sa.select(Booking).where(Booking.id == booking_id).with_for_update())


def _storable(text: str) -> str | None:
    """The patient's words as any database stores them: no NUL or lone surrogates, at most 1600 characters."""
    cleaned = UNSTORABLE.sub("", text or "").strip()
    return cleaned[:MAX_TEXT] or None
