"""What becomes of a claimed reminder that is not sent, or whose send the provider did not take.

* Not sent (``without_sending``): one that is no longer ours is left alone; one whose lease lapsed before the
  request goes back to the queue; outside the patient's calling hours it waits for them (``outgoing.defer``);
  one that must not go out any more is cancelled with the reason; a human call is handed over.
* A send error (``failed``): an unknown outcome is never sent again blindly; a transient failure is retried
  after a bounded backoff, and fails after the last try; a refusal for good fails at once and says what it
  means about the patient (``refusals``). A failure runs the step's fallback.
* A create answered with a final failure (``failed_on_create``) ends as a status callback saying so would.

The caller applies these in its own transaction and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.events import announce
from recall.events.types import EventType
from recall.reminders import outgoing
from recall.reminders.outcomes import Refusal, SendOutcome
from recall.reminders.planning import Hours
from recall.reminders.refusals import refused_for_good
from recall.reminders.reminders import Reminder, ReminderStatus, fall_back, hand_over
from recall.reminders.sending import (
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
)


def without_sending(
    session: Session,
    reminder: Reminder,
    refusal: Refusal | None,
    now: datetime,
    worker_id: str,
    hours: Callable[[], Hours],
) -> SendOutcome:
    """A claimed reminder that is not sent: ``refusal`` says why (None: a human call, handed over). ``hours``
    reads the calling hours of the policy that planned it, needed only outside them."""
    if refusal is Refusal.NOT_OURS:
        return SendOutcome.NOT_OURS
    if refusal is Refusal.LEASE_LAPSED:  # never sent: back to the queue, unless a reaper has taken it meanwhile
        if reminder.status is not ReminderStatus.SENDING or reminder.claimed_by != worker_id:
            return SendOutcome.NOT_OURS
        reminder.status, reminder.claimed_by, reminder.lease_expires_at = ReminderStatus.PLANNED, None, None
        reminder.attempts, reminder.updated_at = reminder.attempts - 1, now
        return SendOutcome.GIVEN_UP
    if refusal is Refusal.OUTSIDE_HOURS:
        return outgoing.defer(session, reminder, hours(), now, worker_id)
    if refusal is not None:
        reminder.status, reminder.outcome, reminder.updated_at = ReminderStatus.CANCELLED, refusal, now
        return SendOutcome.CANCELLED
    return SendOutcome(hand_over(session, reminder, now))  # "handed_over", or "automated" during a surge


def failed(
    session: Session, reminder: Reminder, error: SendError, now: datetime, backoff_seconds: tuple[int, ...]
) -> SendOutcome:
    """The provider did not (knowingly) take the request. ``backoff_seconds``: the wait after the 1st, 2nd, ...
    transient failure; past the last, it fails."""
    reminder.error_code, reminder.updated_at, reminder.lease_expires_at = error.code, now, None
    if isinstance(error, UnknownOutcomeError):
        reminder.status, reminder.outcome = ReminderStatus.UNKNOWN, error.reason
        return SendOutcome.UNKNOWN
    if isinstance(error, TransientSendError) and reminder.attempts <= len(backoff_seconds):
        wait_s = backoff_seconds[reminder.attempts - 1]
        reminder.status, reminder.outcome = ReminderStatus.PLANNED, error.reason
        reminder.due_at = now + timedelta(seconds=wait_s)
        return SendOutcome.RETRY
    reminder.status, reminder.outcome = ReminderStatus.FAILED, error.reason
    announce.reminder(session, EventType.REMINDER_FAILED, reminder, now)
    if isinstance(error, PermanentSendError):
        refused_for_good(session, reminder.patient_id, error.reason, now)
    fall_back(session, reminder, now)
    return SendOutcome.FAILED


def failed_on_create(session: Session, reminder: Reminder, result: SendResult, now: datetime) -> SendOutcome:
    """The provider took the request and answered with a final failure (undelivered, cancelled, a call busy or
    not answered): the reminder failed, as a status callback saying so would have made it, and the step's
    fallback runs. A callback that came first already did all that."""
    if reminder.status in (ReminderStatus.FAILED, ReminderStatus.DELIVERED):
        return SendOutcome.FAILED
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
    announce.reminder(session, EventType.REMINDER_FAILED, reminder, now)
    fall_back(session, reminder, now)
    return SendOutcome.FAILED
