"""What the provider reports about a send, in the domain's words.

A status callback, the answer to a create and a look-up of a lost send all say what became of a message or a
call. The adapter (``integrations/twilio/reports.py``) translates the provider's statuses, error codes and
answering-machine verdicts into this vocabulary, and the domain branches on nothing else. The provider's own
words still travel along, opaque, because the reminder row records them as they came (``provider_status``,
``error_code``) for whoever reads it later; the domain compares them with nothing.

No provider SDK and no database is imported here: both sides import this module.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The progress of an end (delivered or failed): no later report moves a reminder on from it.
FINAL = 9


class SendFailure(str, enum.Enum):
    """Why a send was not (knowingly) accepted, in the domain's words; the value is what a reminder's ``outcome``
    stores (a str enum, so the stored strings are the ones they always were)."""

    # nothing was sent; trying again later may succeed
    RATE_LIMITED = "rate_limited"
    PROVIDER_ERROR = "provider_error"
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECTION_FAILED = "connection_failed"
    TLS_FAILED = "tls_failed"
    ACCOUNT_UNAVAILABLE = "account_unavailable"  # the clinic's own account has no usable credentials now
    # refused for good
    OPTED_OUT = "opted_out"  # the recipient replied STOP: no more SMS to them
    INVALID_PHONE = "invalid_phone"  # the number is not one that can be sent to
    UNREACHABLE_DESTINATION = "unreachable_destination"  # a landline, a blocked region
    REJECTED = "rejected"  # anything else the provider refused
    # the request may have been acted on
    READ_TIMEOUT = "read_timeout"
    CONNECTION_LOST = "connection_lost"
    UNREADABLE_ANSWER = "unreadable_answer"


class Delivery(enum.Enum):
    """What happened to one send."""

    ACCEPTED = "accepted"  # the provider has it and is on its way (queued, sending, a call ringing): not the end
    DELIVERED = "delivered"  # the SMS arrived, or the call was answered (by whom: ``Answerer``)
    FAILED = "failed"  # it ended without arriving: refused, undelivered, cancelled, a call that failed
    NO_ANSWER = "no_answer"  # a call nobody picked up
    BUSY = "busy"  # a call to a busy line

    @property
    def failed(self) -> bool:
        """Whether the send ended without reaching the patient."""
        return self in (Delivery.FAILED, Delivery.NO_ANSWER, Delivery.BUSY)


class Answerer(enum.Enum):
    """Who answered a call, as the provider's answering-machine detection tells it."""

    PERSON = "person"  # also "unknown": a patient who answers and stays silent looks like that
    MACHINE = "machine"  # a machine still playing its greeting, or a fax: no message can be left
    MACHINE_AFTER_GREETING = "machine_after_greeting"  # the greeting ended: a message can be left after it

    @property
    def is_machine(self) -> bool:
        return self is not Answerer.PERSON


@dataclass(frozen=True)
class DeliveryReport:
    """One status callback about a message or a call, translated.

    ``progress`` says how far along the provider's steps the report is (``FINAL`` for an end), and
    ``progress_of`` how far along each of the provider's statuses on that channel is: a report no further along
    than the status the reminder has recorded changes nothing (webhooks come late and out of order).
    ``outcome`` is why a failure ended, as the reminder's ``outcome`` records it; ``failure`` what a refusal
    says about the patient (an opt-out at the provider), if anything."""

    sid: str
    event: Delivery
    provider_status: str
    progress: int
    progress_of: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    provider_code: int | None = None
    outcome: str | None = None
    failure: SendFailure | None = None
    answered_by: Answerer = Answerer.PERSON

    def progress_of_recorded(self, provider_status: str | None) -> int:
        """The progress of a status the reminder has recorded (one we cannot place counts as the first step)."""
        return max(1, self.progress_of.get(provider_status or "", 1))
