"""What the stand-in's tests share: the account they run it under, a tiny webhook receiver, and small sends."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.twilio import signatures
from integrations.twilio.client import TwilioGateway
from recall.reminders.sending import (
    SenderIdentity,
    SendResult,
)

ACCOUNT = "AC" + "5" * 32
TOKEN = "stand-in-secret"
FROM = SenderIdentity(from_number="+46850000000")
PATIENT = "+46700000001"
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Receiver:
    """A tiny webhook receiver: records every POST and answers with ``reply``."""

    url: str
    hits: list[dict[str, Any]] = field(default_factory=list)
    reply: str = "<Response/>"

    def posted(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.hits)


def send(gateway: TwilioGateway, to: str = PATIENT, key: str = "attempt-1", **kw: Any) -> SendResult:
    return gateway.send_sms(
        to=to,
        body=kw.pop("body", "Time for your check-up"),
        status_callback=kw.pop("status_callback", "http://127.0.0.1:9/status"),
        idempotency_key=key,
        sender=kw.pop("sender", FROM),
    )


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signed_ok(hit: dict[str, Any], url: str) -> bool:
    return signatures.verify(TOKEN, url, hit["form"], hit["headers"].get("X-Twilio-Signature"))
