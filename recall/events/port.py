"""The port the delivery worker sends through: one signed POST, answered or not. ``integrations.webhooks``
implements it with ``requests`` and signs with ``standardwebhooks``; tests may give any object of this shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    secret: str = field(repr=False)  # whsec_...: signs, never logged
    message_id: str  # webhook-id: the event's, the same on every attempt
    timestamp: datetime  # webhook-timestamp: this attempt's
    body: str  # the event's JSON, exactly as stored


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int | None  # None: no HTTP answer (refused, reset, timed out)
    latency_ms: int
    error: str | None = None  # why there was no answer, in a few words (no body, no secret)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    def send(self, request: WebhookRequest) -> WebhookAnswer:
        """Sign and POST; every network failure is an answer (``status_code`` None), never an exception."""
        ...

    def close(self) -> None: ...
