"""The EHR's notifications, signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body`` with the secret's bytes).

The signature is the ``standardwebhooks`` library's; the timestamp is held against the clock recall is given (the
library would read the system's), within ``TOLERANCE`` either way.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

TOLERANCE = timedelta(minutes=5)
MAX_ID = 200  # characters of a webhook-id we keep to refuse a replay


class SignatureRefused(Exception):
    """A notification that is not the EHR's: unsigned, badly signed, or signed too long ago (or ahead)."""


def sign(secret: str, webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three headers an EHR sends with ``body`` (what the tests and the bench send)."""
    signature = Webhook(secret).sign(webhook_id, at, body.decode())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """The notification's webhook-id when ``body`` is signed with ``secret`` within ``TOLERANCE`` of ``now``."""
    webhook_id = (headers.get("webhook-id") or "").strip()
    stamp, signatures = headers.get("webhook-timestamp") or "", headers.get("webhook-signature") or ""
    if not webhook_id or not stamp or not signatures:
        raise SignatureRefused("webhook-id, webhook-timestamp and webhook-signature are required")
    if len(webhook_id) > MAX_ID:
        raise SignatureRefused(f"webhook-id is longer than {MAX_ID} characters")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRefused("webhook-timestamp is not a Unix time in seconds")
    at = datetime.fromtimestamp(int(stamp), UTC)
    if abs(at - now) > TOLERANCE:
        raise SignatureRefused("webhook-timestamp is more than 5 minutes from now")
    try:
        text = body.decode("utf-8")
        expected = base64.b64decode(Webhook(secret).sign(webhook_id, at, text).split(",", 1)[1])
    except (UnicodeDecodeError, binascii.Error, ValueError):
        raise SignatureRefused("the body is not UTF-8 or the secret is not a Standard Webhooks secret") from None
    for item in signatures.split():
        version, _, value = item.partition(",")
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if version == "v1" and hmac.compare_digest(expected, given):
            return webhook_id
    raise SignatureRefused("no webhook-signature matches the clinic's EHR secret")
