"""Status callbacks in Twilio's words, applied as the webhook views apply them: translated at the edge
(``integrations.twilio.reports``) into a delivery report, then handed to the domain (``recall.reminders.inbound``).

Tests speak of callbacks the way Twilio sends them ("delivered", error code 30007, "no-answer"); this keeps
them doing so now that the domain takes a report. A status we do not track is "ignored", as the view ignores it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from integrations.twilio import reports
from recall.common.clock import Clock
from recall.reminders import inbound


def message_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    sid: str,
    status: str,
    error_code: int | None = None,
    account: str | None = None,
) -> str:
    report = reports.message_report(sid, status, error_code)
    if report is None:
        return "ignored"
    return inbound.message_status(session, clock, reminder_id=reminder_id, report=report, account=account)


def call_status(
    session: Session,
    clock: Clock,
    *,
    reminder_id: int | None,
    sid: str,
    status: str,
    answered_by: str | None = None,
    account: str | None = None,
) -> str:
    report = reports.call_report(sid, status, answered_by)
    if report is None:
        return "ignored"
    return inbound.call_status(session, clock, reminder_id=reminder_id, report=report, account=account)
