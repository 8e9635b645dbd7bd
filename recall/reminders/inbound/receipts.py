"""Which of our sends a webhook is about, and whether a webhook with effects was applied already.

* A callback acts only on our own sends: the reminder whose SID we recorded (and, when its URL names a
  reminder with ``?r=<id>``, that very one). The one exception is a reminder whose send ended ``unknown``
  (our request may have reached Twilio, no SID recorded): its callback URL names it, so the first callback
  tells us the SID. The same rule serves a key press and the call's script only to the reminder's own call.
  Either way its clinic's Twilio account must be the one the webhook came from.
* A key press or an SMS reply has effects that must not repeat (a cancellation, a task), so it is recorded in
  ``webhook_receipts`` first; a retry finds its receipt and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.db import Base, UTCDateTime
from recall.reminders.accounts import account_of
from recall.reminders.reminders import Reminder, ReminderStatus

# A callback may name a reminder that has no SID yet only when our request may have reached Twilio and we never
# learnt its answer: a planned reminder was never sent, and one being sent is given its SID by the sender.
UNRESOLVED = (ReminderStatus.UNKNOWN,)


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


def own_send(
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
    if named.status not in (*UNRESOLVED, ReminderStatus.SENT):
        return None, f"a {named.status.value} reminder has no send to resolve"
    return named, ""
