"""The Twilio gateway: recall's MessageSender, VoiceCaller and SendLookup on top of the official SDK.

Every request goes through the SDK's HTTP seam (``transport.RoutingHttpClient``: routing, pooling, timeouts, no
phone numbers in the logs); every failure becomes a ``SendError`` (``failures``), and every answer a
``SendResult`` or ``Found`` that says in the domain's words what happened (``reports``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from integrations.twilio import reports
from integrations.twilio.failures import classify_connection_error, classify_rest_error
from integrations.twilio.transport import RoutingHttpClient
from recall.reminders.delivery import SendFailure
from recall.reminders.sending import Found, SenderIdentity, SendResult, TransientSendError, UnknownOutcomeError

#: Header carrying our idempotency key. Twilio ignores it (creating a Message or
#: a Call is not idempotent at Twilio); it is sent so that the stand-in, a proxy
#: or Twilio support can tie a retry to its first attempt.
IDEMPOTENCY_HEADER = "X-Recall-Idempotency-Key"

#: Call progress events we ask Twilio to report (it always reports "completed").
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")

#: Answering-machine detection on every reminder call: a machine is not a reached patient. DetectMessageEnd
#: (not Enable) makes Twilio wait for the greeting's end before fetching the script, so a voicemail the policy
#: asks for is recorded after the beep; AnsweredBy then comes with the script's request and the status callback.
MACHINE_DETECTION = "DetectMessageEnd"

T = TypeVar("T")


class TwilioGateway:
    """Sends SMS and places calls through Twilio; implements MessageSender and VoiceCaller.

    Safe to share between threads. ``base_url`` (e.g. "http://127.0.0.1:8765")
    sends every request to a stand-in or a mock server instead of api.twilio.com.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_pool: int = 64,
        connect_timeout: float | None = None,
    ) -> None:
        self.http = RoutingHttpClient(
            base_url=base_url,
            connect_timeout=connect_timeout or min(3.05, timeout),
            read_timeout=timeout,
            max_pool=max_pool,
        )
        self.client = Client(account_sid, auth_token, http_client=self.http)
        # The SDK imports its API modules on first use (a few hundred ms of one core): done now, not between a
        # sender's last check (its rate-limit slot, its lease) and its first request.
        _ = (self.client.messages, self.client.calls)

    def send_sms(
        self,
        *,
        to: str,
        body: str,
        status_callback: str,
        idempotency_key: str,
        sender: SenderIdentity,
    ) -> SendResult:
        """Create a Message; its first status is normally "queued" (or "accepted" via a service)."""
        sender.require_sms_sender()
        kwargs: dict[str, str] = {"to": to, "body": body, "status_callback": status_callback}
        if sender.from_number:
            kwargs["from_"] = sender.from_number
        else:
            kwargs["messaging_service_sid"] = str(sender.messaging_service_sid)
        message = self._call(idempotency_key, lambda: self.client.messages.create(**kwargs))
        return _result(message)

    def place_call(
        self,
        *,
        to: str,
        twiml_url: str,
        status_callback: str,
        idempotency_key: str,
        sender: SenderIdentity,
    ) -> SendResult:
        """Create a Call that fetches its TwiML with a POST, reports progress by POST and detects machines."""
        caller_id = sender.require_caller_id()
        call = self._call(
            idempotency_key,
            lambda: self.client.calls.create(
                to=to,
                from_=caller_id,
                url=twiml_url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=list(CALL_EVENTS),
                machine_detection=MACHINE_DETECTION,
            ),
        )
        return _result(call)

    def fetch_message(self, sid: str) -> SendResult:
        """Look a message up by SID (to reconcile an attempt whose callback never came)."""
        message = self._call(None, lambda: self.client.messages(sid).fetch())
        return _result(message)

    def fetch_call(self, sid: str) -> SendResult:
        """Look a call up by SID."""
        call = self._call(None, lambda: self.client.calls(sid).fetch())
        return _result(call)

    def messages_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]:
        """The messages to ``to`` from our sender (a number, or any number of our Messaging Service) created since
        ``since``, newest first. No ``DateSent`` filter: Twilio fills DateSent only once a message has left its
        queue, and filters it by whole days, so a message Twilio still holds queued would be missed, and sent twice.
        A reminder's number gets few messages from one clinic, so the newest ``LOOKUP_LIMIT`` are enough."""
        kwargs: dict[str, Any] = {"to": to, "page_size": LOOKUP_LIMIT}
        if sender.from_number:
            kwargs["from_"] = sender.from_number
        found = self._call(None, lambda: list(self.client.messages.page(**kwargs)))  # one page: the newest
        return [
            f
            for f in (_found(m) for m in found)
            if _since(f, since)
            and (sender.messaging_service_sid is None or f.messaging_service_sid == sender.messaging_service_sid)
        ]

    def calls_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]:
        """The calls to ``to`` from our caller id created since ``since`` (no StartTime filter, for the reason
        ``messages_since`` gives: a queued call has no start time yet)."""
        caller_id = sender.require_caller_id()
        found = self._call(None, lambda: list(self.client.calls.page(to=to, from_=caller_id, page_size=LOOKUP_LIMIT)))
        return [f for f in (_found(c) for c in found) if _since(f, since)]

    def close(self) -> None:
        """Release pooled connections (call on shutdown)."""
        self.http.close()

    def _call(self, idempotency_key: str | None, action: Callable[[], T]) -> T:
        """Run one SDK call and translate every failure into a SendError."""
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        try:
            with self.http.extra_headers(headers):
                return action()
        except TwilioRestException as error:
            raise classify_rest_error(int(error.status), _int_or_none(error.code)) from error
        except TwilioServiceException as error:  # RFC 9457 errors: not a TwilioRestException
            raise classify_rest_error(int(error.status), _int_or_none(error.code)) from error
        except requests.RequestException as error:
            raise classify_connection_error(error) from error
        except TwilioException as error:  # a list's page that would not load: nothing was created
            raise TransientSendError(SendFailure.PROVIDER_ERROR) from error
        except json.JSONDecodeError as error:  # a 2xx whose body is not JSON: Twilio may have acted
            raise UnknownOutcomeError(SendFailure.UNREADABLE_ANSWER) from error


#: How many of the newest messages or calls to one number a look-up reads.
LOOKUP_LIMIT = 50
#: A provider's clock and ours may differ this much: a look-up reaches back this far before ``since``.
CLOCK_SKEW = timedelta(minutes=2)


def _text_or_none(value: object) -> str | None:
    """A field as Twilio gave it: null stays None (``str(None)`` would store the text "None")."""
    return None if value is None else str(value)


def _result(resource: Any) -> SendResult:
    status = _text_or_none(resource.status) or None
    error_code = _int_or_none(getattr(resource, "error_code", None))
    return SendResult(
        sid=_text_or_none(resource.sid) or None,
        status=status,
        error_code=error_code,
        event=reports.created(status),
        outcome=reports.outcome_of(status, error_code),
    )


def _found(resource: Any) -> Found:
    created = resource.date_created if isinstance(resource.date_created, datetime) else None
    status = _text_or_none(resource.status)
    return Found(
        sid=_text_or_none(resource.sid) or "",
        status=status,
        created_at=created,
        messaging_service_sid=_text_or_none(getattr(resource, "messaging_service_sid", None)),
        body=_text_or_none(getattr(resource, "body", None)),
        event=reports.created(status),
    )


def _since(found: Found, since: datetime) -> bool:
    """Created at or after ``since`` (less the skew); one without a readable creation date counts, to be safe."""
    return bool(found.sid) and (found.created_at is None or found.created_at >= since - CLOCK_SKEW)


def _int_or_none(value: object) -> int | None:
    """Twilio codes arrive as ints, numeric strings or nothing."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
