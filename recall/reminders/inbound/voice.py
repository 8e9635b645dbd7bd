"""The voice call: what it says, and what a key press does.

The script is served, and a key press acted on, only for the reminder's own call (``receipts.own_send``); a key
press is recorded first (``receipts.first_receipt``) so that Twilio's retry of it changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider
from recall.clinic.patients import Language, Patient
from recall.common.clock import Clock
from recall.common.errors import ValidationError
from recall.reminders import voicemail
from recall.reminders.inbound.answers import answer, locked_booking
from recall.reminders.inbound.receipts import first_receipt, own_send
from recall.reminders.planning import Channel
from recall.reminders.policy import current_policy
from recall.reminders.reminders import Reminder
from recall.reminders.replies import Intent
from recall.reminders.templates import DEFAULT_TEMPLATES, VOICE, render
from recall.reminders.templates.acknowledgements import Ack

log = logging.getLogger(__name__)

KEYS = {"1": Intent.CONFIRM, "2": Intent.CANCEL, "3": Intent.RESCHEDULE}


def voice_script(
    session: Session, reminder_id: int, call_sid: str | None = None, account: str | None = None
) -> tuple[str, str] | None:
    """What the call says, in the patient's language and zone; None when there is nothing to remind of, or the
    call asking is not the reminder's own (``call_sid``, checked by the rule of ``own_send``)."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.channel is not Channel.VOICE:
        return None
    if call_sid is not None and own_send(session, reminder_id, call_sid, account, lock=False)[0] is not reminder:
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
    """Whether ``call_sid`` (from ``account``) is the voice reminder's own call, by the rule of ``own_send``."""
    reminder = own_send(session, reminder_id, call_sid, account, lock=False)[0]
    return reminder is not None and reminder.channel is Channel.VOICE


def gather(
    session: Session, clock: Clock, *, reminder_id: int, call_sid: str, digits: str, account: str | None = None
) -> Ack:
    """A key press during the call: 1 confirms, 2 cancels, 3 asks for a person; anything else repeats.

    Only the reminder's own call may answer it (its recorded SID, or any while its send is ``unknown`` and no SID
    is recorded): a key press from another call changes nothing and just says goodbye."""
    reminder, why = own_send(session, reminder_id, call_sid, account, lock=False)  # its callbacks record the SID
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
    booking = locked_booking(session, reminder.booking_id)
    key = answer(session, clock, booking, patient, intent, text=None, apply=fresh, reason="patient cancelled by phone")
    log.info("key press on reminder %s: %s -> %s%s", reminder.id, intent.value, key, "" if fresh else " (retry)")
    return Ack(key, language)
