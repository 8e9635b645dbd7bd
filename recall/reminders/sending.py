"""The ports through which the domain sends SMS and places voice calls.

The domain decides *what* to send and records every attempt before and after
calling out (see DESIGN.md, "Side effects leave a record first"); an adapter in
``integrations/`` decides *how*. This module holds only what both sides must
agree on: the request shape, the result, and an error hierarchy that tells the
caller the one thing it has to decide next: retry, give up, or reconcile.

No provider SDK, Flask or HTTP library is imported here on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from recall.reminders.delivery import Delivery, SendFailure


@dataclass(frozen=True)
class SenderIdentity:
    """Who a clinic's messages and calls come from.

    A clinic sends SMS either from one number or through a Messaging Service
    (which picks a number from its pool); a call always needs a caller id.
    ``account_sid`` is the clinic's own provider account; None: the service-wide one.
    """

    from_number: str | None = None
    messaging_service_sid: str | None = None
    account_sid: str | None = None

    def require_sms_sender(self) -> None:
        """Refuse an identity that is ambiguous or empty for SMS."""
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("exactly one of from_number or messaging_service_sid must be set for SMS")

    def require_caller_id(self) -> str:
        """Return the caller id for a voice call; a Messaging Service cannot place calls."""
        if not self.from_number:
            raise ValueError("a from_number is required to place a call")
        return self.from_number


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the request: its id for the message or call, its first status and error code, each
    as the provider gave it (``None`` when the answer left it out or null: never the text "None"), recorded as
    they are; and what that status means (``event``), which is all the domain branches on.

    A first status may already be final: the provider can answer a create with a failure, and the caller must
    record that, not "sent"; ``outcome`` then says why, as the reminder's outcome records it."""

    sid: str | None
    status: str | None
    error_code: int | None = None
    event: Delivery = Delivery.ACCEPTED
    outcome: str | None = None


class SendError(Exception):
    """The provider did not (knowingly) accept the request.

    ``code`` is the provider's error code when it gave one (or the HTTP status), kept opaque for the record;
    ``reason`` says why in the domain's words, to store and branch on.
    Messages never contain the destination number or the text.
    """

    def __init__(self, reason: SendFailure, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(f"{type(self).__name__}: {reason.value} (code={code}, status={status})")
        self.reason = reason
        self.code = code
        self.status = status


class TransientSendError(SendError):
    """Nothing was sent and trying again later may succeed (rate limit, provider outage, no connection)."""


class PermanentSendError(SendError):
    """The provider refused this request; sending it again unchanged will fail the same way.

    Reasons: ``OPTED_OUT`` (the recipient replied STOP), ``INVALID_PHONE``,
    ``UNREACHABLE_DESTINATION`` (a landline, a blocked region), ``REJECTED`` (anything else).
    """


class UnknownOutcomeError(SendError):
    """The request was written but no answer came back: the provider may or may not have acted.

    Retrying blindly can send a patient the same message twice; the caller must
    reconcile (wait for a status callback, or look the attempt up) before retrying.
    """


class MessageSender(Protocol):
    """Sends one SMS; raises a :class:`SendError` subclass when it was not accepted."""

    def send_sms(
        self,
        *,
        to: str,
        body: str,
        status_callback: str,
        idempotency_key: str,
        sender: SenderIdentity,
    ) -> SendResult: ...


class VoiceCaller(Protocol):
    """Places one outbound call whose script is fetched from ``twiml_url``."""

    def place_call(
        self,
        *,
        to: str,
        twiml_url: str,
        status_callback: str,
        idempotency_key: str,
        sender: SenderIdentity,
    ) -> SendResult: ...


@dataclass(frozen=True)
class Found:
    """A message or call the provider has on record (for reconciling a send whose outcome we never learnt)."""

    sid: str
    status: str | None  # the provider's own word, recorded as it is
    created_at: datetime | None
    messaging_service_sid: str | None = None
    body: str | None = None  # a message's text (a call has none)
    event: Delivery = Delivery.ACCEPTED  # what its status means


@runtime_checkable
class SendLookup(Protocol):
    """Asks the provider what it has sent to a number from our sender since a moment: the messages or calls
    created then. Used once a lost worker's lease has lapsed, to tell a send that went out from one that never did."""

    def messages_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]: ...

    def calls_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]: ...


@dataclass(frozen=True)
class SendReport:
    """What became of one claimed reminder, told to the worker's observer (its metrics and its log line): ids,
    words and numbers only, never the destination or the text."""

    reminder_id: int
    clinic_id: int
    booking_id: int
    channel: str
    outcome: str  # a SendOutcome's value
    provider_code: int | None  # the provider's error code (or HTTP status) when the send failed with one
    waited_seconds: float  # held back by the sender's rate limit before the request could leave
    due_to_sent_seconds: float | None  # from the planned send time to the provider taking it (sent only)


class SendObserver(Protocol):
    """Told of every claimed reminder's outcome, from the sending thread; must be quick and must not raise."""

    def observed(self, report: SendReport) -> None: ...
