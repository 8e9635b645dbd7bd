"""SMS replies: a patient's text to a clinic's number confirms, cancels, opts out or in, or asks for a person.

The reply is for the one clinic that owns the number it was sent to; it is recorded first
(``receipts.first_receipt``) so that Twilio's retry of it changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.patients import Patient
from recall.common.clock import Clock
from recall.events import announce
from recall.events.types import EventType
from recall.reminders.inbound.answers import answer, locked_booking, storable
from recall.reminders.inbound.receipts import first_receipt
from recall.reminders.patient_edits import opt_out
from recall.reminders.planning import Channel
from recall.reminders.reminders import Reminder, ReminderStatus, plan_booking
from recall.reminders.replies import Intent, classify
from recall.reminders.reply_routing import clinic_for_reply
from recall.reminders.templates.acknowledgements import ack_text
from recall.visits.bookings import ACTIVE, Booking

log = logging.getLogger(__name__)

SENT, DELIVERED, FAILED = ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.FAILED


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
    booking = locked_booking(session, reminder.booking_id) if reminder is not None else None
    key = answer(
        session,
        clock,
        booking,
        patient,
        reply.intent,
        text=storable(reply.text),
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
        announce.patient(session, EventType.PATIENT_OPTED_IN, patient, now)
        session.flush()
        for booking in session.scalars(
            sa.select(Booking).where(
                Booking.patient_id == patient.id, Booking.status.in_(ACTIVE), Booking.start_at > now
            )
        ):
            plan_booking(session, booking, now, reason="opted_in")
