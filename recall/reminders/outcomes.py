"""The sending side's words: what became of a claimed reminder, why one was not sent, what a lost send's
recovery found, and what a status callback did.

Each is a ``str`` enum whose values are the strings the reminder rows have always stored (``outcome``,
``recovery``) and the drain has always counted, so nothing stored changes and no migration is needed; the code
compares members, never spelled-out strings. What the provider said (its status, why it failed there) is not
among them: that arrives already translated (``recall.reminders.delivery``) and is recorded as it came.
"""

from __future__ import annotations

import enum


class SendOutcome(str, enum.Enum):
    """What became of one claimed reminder (``Dispatcher.process``); a drain counts them by value."""

    SENT = "sent"  # the provider took it
    FAILED = "failed"  # refused for good, or the provider's first answer was a failure: the fallback runs
    RETRY = "retry"  # a transient failure: planned again after its backoff
    UNKNOWN = "unknown"  # the request may have gone out: never sent again blindly
    NOT_OURS = "not_ours"  # cancelled, or reaped and re-claimed, since it was claimed: left as it is
    GIVEN_UP = "given_up"  # our lease lapsed before the request: back to the queue, unsent
    CANCELLED = "cancelled"  # it must not go out any more (``Refusal`` on the row)
    DEFERRED = "deferred"  # outside the patient's calling hours: due again when they open
    SKIPPED = "skipped"  # outside the hours, and too late for the visit once they open
    HANDED_OVER = "handed_over"  # a human call: on an operator's or the front desk's list
    AUTOMATED = "automated"  # a routine human call during a surge: goes out as an automated call instead
    ERROR = "error"  # a bug or a lost database: its lease lapses and the reaper takes it


class Refusal(str, enum.Enum):
    """Why a claimed reminder must not go out now (``outgoing.refusal``); a cancelled or skipped one keeps it as
    its ``outcome``."""

    NOT_OURS = "not_ours"
    LEASE_LAPSED = "lease_lapsed"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_ATTENDED = "booking_attended"
    BOOKING_NO_SHOW = "booking_no_show"
    TOO_LATE = "too_late"
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    INVALID_PHONE = "invalid_phone"
    OUTSIDE_HOURS = "outside_calling_hours"  # also a deferred reminder's ``moved_reason``
    HELD_OUT = (
        "held_out"  # the booking is in the clinic's reminder holdout: no automated send (recall.reminders.holdout)
    )

    @classmethod
    def booking(cls, status: str) -> Refusal:
        """The refusal for a booking that is no longer active, by its status (a ``BookingStatus`` value)."""
        return cls(f"booking_{status}")


class SendIncident(str, enum.Enum):
    """A reminder's ``outcome`` when the send went wrong on our side, not the provider's."""

    WORKER_LOST = "worker_lost"  # the worker died or stalled mid-send: the lease lapsed, the outcome unknown
    DUPLICATE_SID = "duplicate_sid"  # the provider answered with a SID another reminder holds: recorded without


class RecoveryVerdict(str, enum.Enum):
    """A lost send's one recovery (``recall.reminders.recovery``): the ``recovery`` column, and each pass's verdicts."""

    CHECKING = "checking"  # taken: the provider is being asked
    FOUND = "found"  # it went out: recorded as sent, with the provider's SID
    RESENT = "resent"  # it had not: back to the queue, sent once through every check
    MISSED = "missed"  # it had not, and it no longer makes sense: stays unknown
    LOOKUP_FAILED = "lookup_failed"  # the provider did not answer: asked again once the check's lease lapses
    ERROR = "error"  # a bug: asked again likewise


class Applied(str, enum.Enum):
    """What a status callback did to its reminder (``inbound.message_status``, ``inbound.call_status``)."""

    UPDATED = "updated"  # it moved the reminder on
    UNCHANGED = "unchanged"  # it was no further along than the reminder (late, or a retry)
    IGNORED = "ignored"  # not about one of our sends, or not one a callback may move: nothing written


class CallEnd(str, enum.Enum):
    """How a voice reminder's call ended, as its ``outcome`` records it (a failure keeps the provider's word)."""

    ANSWERED = "answered"  # a person answered: delivered
    VOICEMAIL = "voicemail"  # a machine took the short voicemail the step asks for: delivered, no fallback
    MACHINE = "machine"  # a machine, and the step hangs up on one: failed, the fallback runs
