"""Delivery receipts and call progress: a status callback moves a reminder on, never back.

* Twilio retries webhooks and does not keep them in order. A reminder's status only moves forward (a late
  "sent" after "delivered" changes nothing), so a receipt needs no bookkeeping of its own. What the callback
  says arrives translated into a ``DeliveryReport`` (``integrations/twilio/reports.py``).
* A callback naming a reminder never sent (still planned, or being sent right now), or with a SID that is not
  the named reminder's, changes nothing (``receipts.own_send``). It is answered 200 all the same, or Twilio
  would retry it for hours, and logged with the reminder's id only.
* A reminder that fails for good runs its step's fallback once, on the transition to ``failed``, exactly as the
  sender does for a refusal (``reminders.fall_back``): a new reminder due now (for a human call, an operator's
  task), unless the booking is over or the patient may not be contacted that way.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.common.clock import Clock
from recall.events import announce
from recall.events.types import EventType
from recall.reminders import voicemail
from recall.reminders.delivery import FINAL, Delivery, DeliveryReport
from recall.reminders.inbound.receipts import UNRESOLVED, own_send
from recall.reminders.outcomes import Applied, CallEnd
from recall.reminders.planning import Channel, Fallback
from recall.reminders.refusals import refused_for_good
from recall.reminders.reminders import Reminder, ReminderStatus, fall_back, hand_over

log = logging.getLogger(__name__)

SENT, DELIVERED, FAILED = ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.FAILED

# Statuses a callback may move on from (cancelled, skipped and handed-over reminders are someone else's story).
ADVANCING = (*UNRESOLVED, SENT, DELIVERED, FAILED)


def message_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    report: DeliveryReport,
    account: str | None = None,
) -> Applied:
    """Apply an SMS status callback from the provider's ``account`` (None: the service-wide one); returns what
    happened."""
    reminder = _reminder_for(session, reminder_id, report.sid, Channel.SMS, account)
    if reminder is None:
        return Applied.IGNORED
    return _advance(session, clock.now(), reminder, report, _status_of(report.event), report.outcome)


def call_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    report: DeliveryReport,
    account: str | None = None,
) -> Applied:
    """Apply a voice call's progress. An answering machine is not a reached patient: by the step's choice the call
    left a voicemail (delivered, "voicemail", no fallback) or hung up (failed, "machine": the fallback runs);
    ``voicemail.leaves_message`` decides both here and in the call's script, so the two agree."""
    reminder = _reminder_for(session, reminder_id, report.sid, Channel.VOICE, account)
    if reminder is None:
        return Applied.IGNORED
    now = clock.now()
    if report.event is Delivery.DELIVERED and report.answered_by.is_machine:
        if voicemail.leaves_message(session, reminder, report.answered_by):
            return _advance(session, now, reminder, report, DELIVERED, CallEnd.VOICEMAIL)
        return _advance(session, now, reminder, report, FAILED, CallEnd.MACHINE)
    outcome = CallEnd.ANSWERED if report.event is Delivery.DELIVERED else report.outcome
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
    reminder, why = own_send(session, reminder_id, sid, account, lock=True)
    if reminder is not None and (reminder.channel is not channel or reminder.status not in ADVANCING):
        reminder, why = None, "a reminder this callback cannot move"
    if reminder is None:
        session.rollback()  # nothing written: Twilio gets its 200 and stops
        log.info("callback ignored (reminder %s): %s", reminder_id, why)
    return reminder


def _advance(
    session: Session,
    now: datetime,
    reminder: Reminder,
    report: DeliveryReport,
    new: ReminderStatus,
    outcome: str | None,
) -> Applied:
    progress = FINAL if new in (DELIVERED, FAILED) else report.progress
    if progress <= _progress(reminder, report):
        session.commit()  # a resolved SID, if any, is kept
        return Applied.UNCHANGED
    reminder.status, reminder.provider_status, reminder.updated_at = new, report.provider_status, now
    reminder.sent_at = reminder.sent_at or now
    if new is DELIVERED:
        reminder.outcome = outcome if reminder.channel is Channel.VOICE else None
        announce.reminder(session, EventType.REMINDER_DELIVERED, reminder, now)
    elif new is FAILED:
        reminder.error_code, reminder.outcome = report.provider_code, outcome
        announce.reminder(session, EventType.REMINDER_FAILED, reminder, now)
        # e.g. the provider blocks SMS to them (they sent STOP): as for the sender's refusal, SMS consent goes
        refused_for_good(session, reminder.patient_id, report.failure, now)
        _fallback(session, now, reminder)
    session.commit()
    log.info("reminder %s is %s (provider status %s)", reminder.id, new.value, report.provider_status)
    return Applied.UPDATED


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
