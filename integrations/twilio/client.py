"""The Twilio gateway: recall's MessageSender and VoiceCaller on top of the official SDK.

Why a custom HTTP client: twilio-python 9 builds every URL as
``Domain.base_url`` ("https://api.twilio.com", hard-coded in ``rest/api/ApiBase.py``)
+ version + path, then hands the absolute URL to ``client.http_client.request``.
Swapping the HTTP client is the one documented seam that sees *every* request
(any domain, any resource), so it is where we (a) send requests to a local
stand-in or a mock server instead of api.twilio.com, (b) size the connection pool
for many sender threads, (c) use separate connect and read timeouts, and
(d) keep phone numbers and message text out of the logs (the SDK's own client
logs full URLs, query strings included, at INFO).
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from integrations.twilio import reports
from recall.reminders.delivery import SendFailure
from recall.reminders.sending import (
    Found,
    PermanentSendError,
    SenderIdentity,
    SendError,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
)

_log = logging.getLogger(__name__)


class HideQueries(logging.Filter):
    """urllib3 writes every request's URL into a DEBUG line, query string included; looking up a lost send puts
    the patient's number there (``?To=...``). Keep the line, drop the query."""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = self._QUERY.sub("?[query hidden]", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(HideQueries())

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

#: Twilio's error codes for a refusal that means something for the patient or the number; any other is REJECTED.
_PERMANENT_REASONS: dict[int, SendFailure] = {
    21610: SendFailure.OPTED_OUT,  # the recipient replied STOP
    21211: SendFailure.INVALID_PHONE,  # not a valid number
    21614: SendFailure.INVALID_PHONE,  # not a mobile number
    21612: SendFailure.UNREACHABLE_DESTINATION,
    21408: SendFailure.UNREACHABLE_DESTINATION,  # a region the account may not send to
}

T = TypeVar("T")


class RoutingHttpClient(HttpClient):
    """A thread-safe, pooled HTTP client for the SDK that can re-route api.twilio.com.

    One instance is shared by every thread using a gateway: the urllib3 pool
    is thread-safe, cookies are refused (so the session holds no mutable
    per-request state), and per-call extra headers live in a thread-local.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_pool: int = 64,
    ) -> None:
        super().__init__(_log, is_async=False, timeout=None)
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeouts = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Refuse every cookie: a shared session must not carry state between threads.
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        if self.base_url:
            # A local target must never be reached through an environment proxy.
            self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max_pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._local = threading.local()

    @contextmanager
    def extra_headers(self, headers: dict[str, str]) -> Iterator[None]:
        """Add headers to every request this thread makes inside the block."""
        previous = getattr(self._local, "headers", None)
        self._local.headers = {**(previous or {}), **headers}
        try:
            yield
        finally:
            self._local.headers = previous

    def route(self, url: str) -> str:
        """Rewrite a Twilio URL to the configured base URL, keeping path and query."""
        if not self.base_url:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            raise ValueError("refusing to route a non-Twilio URL while base_url is set")
        base = urlsplit(self.base_url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request; requests' exceptions propagate for the gateway to classify."""
        merged = {**(headers or {}), **(getattr(self._local, "headers", None) or {})}
        target = self.route(url)
        response = self.session.request(
            method.upper(),
            target,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=merged,
            auth=auth,
            timeout=(self.timeouts[0], timeout) if timeout else self.timeouts,
            allow_redirects=allow_redirects,
        )
        # Path only: the query string of a list call can hold a phone number.
        _log.debug("twilio %s %s -> %s", method.upper(), urlsplit(target).path, response.status_code)
        return Response(int(response.status_code), response.text, response.headers)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def classify_rest_error(status: int, code: int | None) -> SendError:
    """Map an HTTP status and Twilio error code to our error hierarchy."""
    if status == 429 or code == 20429:
        return TransientSendError(SendFailure.RATE_LIMITED, code=code, status=status)
    if status >= 500:
        return TransientSendError(SendFailure.PROVIDER_ERROR, code=code, status=status)
    return PermanentSendError(_PERMANENT_REASONS.get(code or 0, SendFailure.REJECTED), code=code, status=status)


def classify_connection_error(error: requests.RequestException) -> SendError:
    """Tell "never connected" (safe to retry) from "sent, then lost" (outcome unknown)."""
    if isinstance(error, requests.ConnectTimeout):
        return TransientSendError(SendFailure.CONNECT_TIMEOUT)
    if isinstance(error, requests.Timeout):  # a ReadTimeout: the request was written
        return UnknownOutcomeError(SendFailure.READ_TIMEOUT)
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        # NewConnectionError covers refused connections and (urllib3 2) failed DNS look-ups.
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            return TransientSendError(SendFailure.CONNECTION_FAILED)
        if isinstance(error, requests.exceptions.SSLError):
            return TransientSendError(SendFailure.TLS_FAILED)
    # A reset or a close after the request went out, a truncated body, anything else.
    return UnknownOutcomeError(SendFailure.CONNECTION_LOST)


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
