"""The Twilio stand-in's values: a resource (a message or a call), an injected fault, a recorded request, and
Twilio's shapes around them (SIDs, dates, error bodies, segment counts), as its 2010 API spells them.

Plain data without locks or sockets; ``standin_state`` keeps them, thread-safe.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
ERROR_TEXT = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required",
    21211: "Invalid 'To' Phone Number",
    21213: "No 'From' number is specified",
    21602: "Message body is required",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
    21604: "A 'To' phone number is required",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit",
}


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format, e.g. "Thu, 24 Aug 2023 05:01:45 +0000"."""
    return format_datetime(moment.astimezone(UTC)) if moment else None


def error_body(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's legacy error JSON (the shape the SDK turns into TwilioRestException)."""
    return {
        "code": code,
        "message": message or ERROR_TEXT.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def segments(body: str) -> int:
    """How many SMS segments Twilio bills for ``body`` (GSM-7 or UCS-2)."""
    if all(ch in GSM7 for ch in body):
        single, multi, length = 160, 153, len(body)
    else:
        single, multi, length = 70, 67, len(body.encode("utf-16-le")) // 2
    return 1 if length <= single else -(-length // multi)


@dataclass
class Fault:
    """One injected failure, consumed by matching create requests (``times=None``: forever)."""

    status: int | None = None
    code: int | None = None
    message: str | None = None
    slow_ms: int = 0
    timeout: bool = False
    drop: bool = False
    accept: bool = True
    hang_ms: int = 30_000
    # An accepted create whose answer is not the usual one (what Twilio, or a mock serving its spec, may say):
    # ``answer`` fields replace the created resource's in the 201 (``{"status": "failed", "error_code": 30007}``,
    # ``{"sid": None}``, a SID some earlier answer had); ``body`` is sent instead of JSON (a proxy's HTML page).
    answer: dict[str, Any] | None = None
    body: str | None = None
    to: str | None = None
    resource: str | None = None
    times: int | None = 1

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Fault:
        """Build from control-API JSON, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        fault = cls(**raw)
        if fault.resource not in (None, "Messages", "Calls"):
            raise ValueError("resource must be 'Messages' or 'Calls'")
        return fault

    def matches(self, resource: str, to: str | None) -> bool:
        return (self.resource in (None, resource)) and (self.to is None or self.to == to)


@dataclass
class Recorded:
    """One API request as the stand-in saw it; ``status`` is None when it was never answered."""

    method: str
    path: str
    resource: str | None
    form: dict[str, list[str]]
    idempotency_key: str | None
    status: int | None = None
    sid: str | None = None
    fault: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


#: What Twilio's answering-machine detection reports as ``AnsweredBy``.
ANSWERED_BY = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)


@dataclass
class Resource:
    """A Message or Call the stand-in created; ``json`` is exactly what GET returns."""

    kind: str
    json: dict[str, Any]
    status_callback: str | None = None
    url: str | None = None
    events: tuple[str, ...] = ()
    sequence: int = 0
    machine_detection: str | None = None  # a call's MachineDetection: Enable, DetectMessageEnd or none
