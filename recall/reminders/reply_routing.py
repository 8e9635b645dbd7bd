"""Which clinic an inbound SMS is for: the one that owns the number (or Messaging Service) it was sent to.

Why it is built this way:

* A person may be a patient of several clinics under one phone number. Matching the sender alone let a text
  to clinic B's number cancel clinic A's booking, so a reply is first routed by where it was sent, and the
  sender is then looked up within that one clinic only.
* A clinic's sender is its current reminder policy's ``sender``: a Messaging Service (Twilio names it in
  ``MessagingServiceSid`` on every message to a number in its pool) and/or a number of its own. A clinic that
  names no number sends (and calls) from the service-wide default number ``TWILIO_DEFAULT_FROM``.
* The default number is shared, so it answers for a clinic only while exactly **one** clinic uses it (names
  no number, or names that very number); with two or more a reply to it cannot be told apart, and it changes
  nothing. The same holds for any number or Messaging Service that several clinics name: ambiguous is nobody's.
* Only clinics of the Twilio account the message came to are candidates (``account``: a clinic's own Account
  SID, None for the service-wide account), and the default number belongs to the service-wide account.
* The candidates' current policies are read in one statement; inbound SMS are rare next to sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.reminders.policy import ReminderPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClinicSender:
    clinic_id: int
    from_number: str | None
    messaging_service_sid: str | None


def senders(session: Session, account: str | None = None) -> list[ClinicSender]:
    """Every clinic of ``account`` with the sender its current policy names (none: the service's default)."""
    latest = (
        sa.select(ReminderPolicy.clinic_id, sa.func.max(ReminderPolicy.version).label("version"))
        .group_by(ReminderPolicy.clinic_id)
        .subquery()
    )
    stmt = (
        sa.select(Clinic.id, ReminderPolicy.body)
        .outerjoin(latest, latest.c.clinic_id == Clinic.id)
        .outerjoin(
            ReminderPolicy, sa.and_(ReminderPolicy.clinic_id == Clinic.id, ReminderPolicy.version == latest.c.version)
        )
        .where(Clinic.twilio_account_sid.is_(None) if account is None else Clinic.twilio_account_sid == account)
        .order_by(Clinic.id)
    )
    found = []
    for clinic_id, body in session.execute(stmt):
        sender = (body or {}).get("sender") or {}  # PolicyDoc.to_json always writes it; version 0 names none
        found.append(ClinicSender(clinic_id, sender.get("from_number"), sender.get("messaging_service_sid")))
    return found


def clinic_for_reply(
    session: Session,
    *,
    to_number: str | None,
    messaging_service_sid: str | None,
    default_from: str | None,
    account: str | None = None,
) -> int | None:
    """The one clinic a message sent to ``to_number`` (through ``messaging_service_sid``) is for, or None when
    no clinic, or more than one, owns it."""
    candidates = senders(session, account)
    if messaging_service_sid:
        owners = {s.clinic_id for s in candidates if s.messaging_service_sid == messaging_service_sid}
        if owners:
            return _one(owners, "Messaging Service")
    if not to_number:
        return None
    shared = account is None and default_from is not None and to_number == default_from
    owners = {s.clinic_id for s in candidates if s.from_number == to_number or (shared and s.from_number is None)}
    return _one(owners, "the service's default number" if shared else "number")


def _one(owners: set[int], what: str) -> int | None:
    if len(owners) == 1:
        return owners.pop()
    if owners:
        log.info("inbound sms to a %s that %d clinics use: it cannot be routed", what, len(owners))
    return None
