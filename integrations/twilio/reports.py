"""Twilio's words, translated into the domain's delivery vocabulary (``recall.reminders.delivery``).

Twilio speaks of a message or a call in its own statuses ("queued", "undelivered", "no-answer", ...), error codes
(21610: the recipient replied STOP) and answering-machine verdicts ("machine_end_beep", "fax", ...). Only this
module knows them: the webhook views parse a callback's form into a ``DeliveryReport`` here, and the gateway
turns the answer to a create or a look-up into a ``SendResult`` or ``Found`` that says what happened. The
domain records Twilio's status and code on the reminder as opaque values, and branches only on the report.
"""

from __future__ import annotations

from recall.reminders.delivery import FINAL, Answerer, Delivery, DeliveryReport, SendFailure

ACCEPTED, DELIVERED, FAILED = Delivery.ACCEPTED, Delivery.DELIVERED, Delivery.FAILED
# Twilio's status -> (what happened, how far along it is). A callback no further along than the reminder's
# recorded status changes nothing.
MESSAGE_STATUS: dict[str, tuple[Delivery, int]] = {
    "accepted": (ACCEPTED, 1),
    "scheduled": (ACCEPTED, 1),
    "queued": (ACCEPTED, 2),
    "sending": (ACCEPTED, 3),
    "sent": (ACCEPTED, 4),
    "delivered": (DELIVERED, FINAL),
    "read": (DELIVERED, FINAL),
    **{s: (FAILED, FINAL) for s in ("undelivered", "failed", "canceled")},
}
CALL_STATUS: dict[str, tuple[Delivery, int]] = {
    "queued": (ACCEPTED, 1),
    "initiated": (ACCEPTED, 1),
    "ringing": (ACCEPTED, 2),
    "in-progress": (ACCEPTED, 3),
    "completed": (DELIVERED, FINAL),
    "busy": (Delivery.BUSY, FINAL),
    "no-answer": (Delivery.NO_ANSWER, FINAL),
    **{s: (FAILED, FINAL) for s in ("failed", "canceled")},
}
_MESSAGE_PROGRESS = {status: progress for status, (_, progress) in MESSAGE_STATUS.items()}
_CALL_PROGRESS = {status: progress for status, (_, progress) in CALL_STATUS.items()}

# Why an SMS did not arrive, by Twilio error code, as the reminder's outcome records it; anything else keeps
# Twilio's status as the outcome.
ERROR_OUTCOMES: dict[int, str] = {
    30003: "unreachable",
    30004: "blocked",
    30005: "unknown_destination",
    30006: "landline",
    30007: "carrier_filtered",
    30008: "unknown_error",
    30034: "unregistered_sender",
    21211: "invalid_number",
    21614: "not_mobile",
    21610: "opted_out",
}
#: Twilio blocks every SMS to a recipient who replied STOP; a failure with this code says they opted out.
OPTED_OUT_CODE = 21610

# A create (or a look-up) answered with a status that is already final: Twilio can answer with ``failed`` or
# ``canceled``, a call with ``busy`` or ``no-answer`` too; the reminder then fails with its fallback.
FAILED_ON_CREATE = frozenset({"failed", "undelivered", "busy", "no-answer", "canceled"})
DELIVERED_ON_CREATE = frozenset({"delivered", "read", "completed"})
_CREATE_FAILURE = {"busy": Delivery.BUSY, "no-answer": Delivery.NO_ANSWER}

# What Twilio's AnsweredBy says once a machine's greeting ended: a message can be left after it.
MESSAGE_END = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


def message_report(sid: str, status: str, error_code: int | None) -> DeliveryReport | None:
    """An SMS status callback; None for a status we do not track."""
    if status not in MESSAGE_STATUS:
        return None
    event, progress = MESSAGE_STATUS[status]
    return DeliveryReport(
        sid=sid,
        event=event,
        provider_status=status,
        progress=progress,
        progress_of=_MESSAGE_PROGRESS,
        provider_code=error_code,
        outcome=outcome_of(status, error_code),
        failure=SendFailure.OPTED_OUT if error_code == OPTED_OUT_CODE else None,
    )


def call_report(sid: str, status: str, answered_by: str | None = None) -> DeliveryReport | None:
    """A voice call's progress callback; None for a status we do not track."""
    if status not in CALL_STATUS:
        return None
    event, progress = CALL_STATUS[status]
    return DeliveryReport(
        sid=sid,
        event=event,
        provider_status=status,
        progress=progress,
        progress_of=_CALL_PROGRESS,
        outcome=status,
        answered_by=answerer(answered_by),
    )


def answerer(answered_by: str | None) -> Answerer:
    """Who Twilio's detection says answered. ``unknown`` (or no verdict) counts as a person, as Twilio advises: it
    is what a patient who answers and stays silent looks like; a fax is a machine that takes no message."""
    if not answered_by:
        return Answerer.PERSON
    if answered_by in MESSAGE_END:
        return Answerer.MACHINE_AFTER_GREETING
    if answered_by.startswith("machine") or answered_by == "fax":
        return Answerer.MACHINE
    return Answerer.PERSON


def created(status: str | None) -> Delivery:
    """What the first status of a create (or a looked-up send) says happened."""
    if status in FAILED_ON_CREATE:
        return _CREATE_FAILURE.get(status, Delivery.FAILED)
    if status in DELIVERED_ON_CREATE:
        return Delivery.DELIVERED
    return Delivery.ACCEPTED


def outcome_of(status: str | None, error_code: int | None) -> str | None:
    """Why a send failed, as the reminder's outcome records it: the error code's meaning, else Twilio's status."""
    return ERROR_OUTCOMES.get(error_code or 0, status)
