"""Sending through the right Twilio account: the service-wide one, or a clinic's own.

``AccountRouter`` is recall's MessageSender and VoiceCaller (``recall.sending``) in front of one
``TwilioGateway`` per account: the request's ``SenderIdentity.account_sid`` picks it (None: the
service-wide gateway). The dispatcher does not know that there is more than one.

Why it is built this way:

* A clinic's auth token lives sealed in the database (``recall.clinic_accounts``); the router asks a lookup
  function for it and keeps it for ``ttl`` seconds, so a busy sender does not open it once per message.
* A manager may replace the token meanwhile. Twilio then answers 401 (code 20003) and nothing was sent, so
  the router reads the token again and, when it did change, tries once more with the new one.
* An account whose token cannot be had (the clinic dropped it, the sealing key is missing) is a
  ``TransientSendError``: nothing went out, and the reminder is retried after the usual backoff.
* Each account has its own connection pool, closed with the router.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from integrations.twilio.client import TwilioGateway
from recall.reminders.delivery import SendFailure
from recall.reminders.sending import (
    Found,
    PermanentSendError,
    SenderIdentity,
    SendResult,
    TransientSendError,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")
TokenLookup = Callable[[str], "str | None"]


class AccountRouter:
    """Sends each request through the gateway of its sender's account; implements MessageSender, VoiceCaller and
    SendLookup (a lost send is looked up in the account it went out through)."""

    def __init__(self, default: TwilioGateway, tokens: TokenLookup, *, ttl: float = 60.0, **gateway_kw: Any) -> None:
        self.default, self.tokens, self.ttl, self.gateway_kw = default, tokens, ttl, gateway_kw
        self._gateways: dict[str, tuple[str, TwilioGateway, float]] = {}  # account -> (token, gateway, read at)
        self._retired: list[TwilioGateway] = []
        self._lock = threading.Lock()

    def send_sms(
        self, *, to: str, body: str, status_callback: str, idempotency_key: str, sender: SenderIdentity
    ) -> SendResult:
        return self._through(
            sender,
            lambda gw: gw.send_sms(
                to=to, body=body, status_callback=status_callback, idempotency_key=idempotency_key, sender=sender
            ),
        )

    def place_call(
        self, *, to: str, twiml_url: str, status_callback: str, idempotency_key: str, sender: SenderIdentity
    ) -> SendResult:
        return self._through(
            sender,
            lambda gw: gw.place_call(
                to=to,
                twiml_url=twiml_url,
                status_callback=status_callback,
                idempotency_key=idempotency_key,
                sender=sender,
            ),
        )

    def messages_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]:
        """Asked of the account the reminder went out through: another account never saw it."""
        return self.gateway(sender.account_sid).messages_since(to=to, sender=sender, since=since)

    def calls_since(self, *, to: str, sender: SenderIdentity, since: datetime) -> list[Found]:
        return self.gateway(sender.account_sid).calls_since(to=to, sender=sender, since=since)

    def gateway(self, account_sid: str | None, *, fresh: bool = False) -> TwilioGateway:
        """The gateway of ``account_sid`` (None: the service-wide one); ``fresh`` reads the token again."""
        if account_sid is None:
            return self.default
        now = time.monotonic()
        with self._lock:
            cached = self._gateways.get(account_sid)
        if cached is not None and not fresh and now - cached[2] < self.ttl:
            return cached[1]
        token = self.tokens(account_sid)
        if token is None:
            raise TransientSendError(SendFailure.ACCOUNT_UNAVAILABLE)
        with self._lock:
            cached = self._gateways.get(account_sid)
            if cached is not None and cached[0] == token:
                self._gateways[account_sid] = (token, cached[1], now)
                return cached[1]
            if cached is not None:
                self._retired.append(cached[1])  # a thread may still be using it: closed with the router
            gateway = TwilioGateway(account_sid, token, **self.gateway_kw)
            self._gateways[account_sid] = (token, gateway, now)
            return gateway

    def close(self) -> None:
        """Release every account's pooled connections (call on shutdown)."""
        with self._lock:
            gateways = [g for _, g, _ in self._gateways.values()] + self._retired
            self._gateways, self._retired = {}, []
        for gateway in [self.default, *gateways]:
            gateway.close()

    def _through(self, sender: SenderIdentity, send: Callable[[TwilioGateway], T]) -> T:
        gateway = self.gateway(sender.account_sid)
        try:
            return send(gateway)
        except PermanentSendError as error:
            if sender.account_sid is None or error.status != 401:
                raise
            again = self.gateway(sender.account_sid, fresh=True)  # the token may have been replaced meanwhile
            if again is gateway:
                raise
            _log.info("a clinic's Twilio token changed; sending again with the new one")
            return send(again)
