"""How the stand-in calls our webhooks: form-encoded POSTs signed like Twilio's.

The signature is computed over the exact URL posted to, with the auth token,
so the application's signature check is exercised for real. Targets are limited
to loopback addresses unless explicitly allowed: the stand-in must never reach
out to the internet, whatever URL a test or a developer hands it.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from integrations.twilio.signatures import sign

#: No proxies, whatever the environment says: a webhook target is local.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class WebhookResponse:
    """What our application answered to one webhook (TwiML for voice and inbound SMS)."""

    status: int
    body: str
    content_type: str


def is_loopback(url: str) -> bool:
    """True for http(s) URLs on 127.0.0.0/8, ::1 or localhost."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def post_webhook(
    url: str,
    params: Sequence[tuple[str, str]],
    *,
    auth_token: str,
    allow_remote: bool = False,
    timeout: float = 10.0,
) -> WebhookResponse:
    """POST ``params`` to ``url`` with X-Twilio-Signature, as Twilio does, and return the answer."""
    if not allow_remote and not is_loopback(url):
        raise ValueError("the stand-in only calls webhooks on loopback addresses")
    data = urlencode(list(params)).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": sign(auth_token, url, list(params)),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "Accept": "*/*",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return WebhookResponse(
                response.status,
                response.read().decode("utf-8", "replace"),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        with error:
            return WebhookResponse(
                error.code,
                error.read().decode("utf-8", "replace"),
                error.headers.get("Content-Type", ""),
            )
