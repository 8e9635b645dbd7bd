"""The delivery worker: claim due deliveries, sign and send them through the port, record each answer.

What an answer does:

* 2xx: delivered.
* 410 Gone: the receiver says the endpoint is no more; the delivery fails and the endpoint is disabled at once.
* anything else (another status, no answer, a timeout): retried on ``SCHEDULE``, the wait after the 1st, 2nd...
  failed attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over 27 h 35 min). When the last
  fails, the delivery fails and the endpoint is disabled, with the reason, for its manager to see.

At-least-once: the claim commits before the send and the answer is recorded after it, so a worker killed in
between leaves a lease that lapses, and the delivery goes again under the same ``webhook-id`` (receivers
dedupe on it). An answer is only recorded by the worker that still holds the lease.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from recall.common.clock import Clock
from recall.common.db import Database
from recall.events import claims
from recall.events.endpoints import open_secret
from recall.events.port import WebhookAnswer, WebhookRequest, WebhookSender
from recall.events.tables import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from recall.reminders.accounts import Sealer

log = logging.getLogger(__name__)

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
GONE = 410


@dataclass(frozen=True)
class DeliverySettings:
    worker_id: str
    concurrency: int = 8  # parallel POSTs (and the size of one claim)
    lease: timedelta = timedelta(seconds=60)  # longer than a send's timeout


def answer_kind(answer: WebhookAnswer) -> str:
    """An attempt's answer in one word: delivered (2xx), gone (410: the endpoint is disabled) or failed (retried
    on the schedule, or the last of it)."""
    if answer.status_code is not None and 200 <= answer.status_code < 300:
        return "delivered"
    return "gone" if answer.status_code == GONE else "failed"


def _mine(delivery_id: int, worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.status == DeliveryStatus.DELIVERING,
        WebhookDelivery.claimed_by == worker_id,
    )


def _disable(conn: sa.Connection, endpoint_id: int, now: datetime, reason: str) -> None:
    conn.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_at=now, disabled_reason=reason[:300], disabled_by_system=True, updated_at=now)
    )
    log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


def record(
    conn: sa.Connection, job: claims.Job, answer: WebhookAnswer, now: datetime, worker_id: str
) -> DeliveryStatus:
    """Write what the receiver answered, in ``conn``'s transaction (the caller commits); returns the status."""
    seen = {
        "last_attempt_at": now,
        "last_status_code": answer.status_code,
        "last_error": (answer.error or None) and answer.error[:200],
        "last_latency_ms": answer.latency_ms,
        "lease_expires_at": None,
    }
    if answer.delivered:
        status, more = DeliveryStatus.DELIVERED, {"delivered_at": now}
    elif answer.status_code == GONE:
        status, more = DeliveryStatus.FAILED, {}
    elif job.attempts <= len(SCHEDULE):
        status, more = DeliveryStatus.PENDING, {"next_attempt_at": now + SCHEDULE[job.attempts - 1]}
    else:
        status, more = DeliveryStatus.FAILED, {}
    done = conn.execute(
        sa.update(WebhookDelivery).where(_mine(job.delivery_id, worker_id)).values(status=status, **seen, **more)
    ).rowcount
    if not done:
        return status  # the lease lapsed and another worker has it now: its answer counts
    endpoint = sa.update(WebhookEndpoint).where(WebhookEndpoint.id == job.endpoint_id)
    if answer.delivered:
        conn.execute(endpoint.where(WebhookEndpoint.failing_since.is_not(None)).values(failing_since=None))
    elif answer.status_code == GONE:
        _disable(conn, job.endpoint_id, now, "the receiver answered 410 Gone")
    else:
        conn.execute(endpoint.where(WebhookEndpoint.failing_since.is_(None)).values(failing_since=now))
        if status is DeliveryStatus.FAILED:
            last = f"HTTP {answer.status_code}" if answer.status_code is not None else (answer.error or "no answer")
            _disable(conn, job.endpoint_id, now, f"every attempt of the retry schedule failed (last: {last})")
    return status


class Deliverer:
    """Drains due deliveries: claim a batch, send it in parallel, record the answers, until none is due."""

    def __init__(
        self, database: Database, clock: Clock, sender: WebhookSender, sealer: Sealer | None, settings: DeliverySettings
    ) -> None:
        self.database, self.clock, self.sender, self.sealer, self.settings = database, clock, sender, sealer, settings
        self._claim = claims.claim_statement(database.dialect == "postgresql")
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="webhook")
        self._stopping = threading.Event()
        self.answered: Counter[str] = Counter()

    def take_answered(self) -> dict[str, int]:
        """The attempts recorded since the last call, by ``answer_kind`` (for the worker's metrics)."""
        taken, self.answered = dict(self.answered), Counter()
        return taken

    def stop(self) -> None:
        """Claim nothing more; the batch in flight finishes and is recorded."""
        self._stopping.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()

    def drain(self) -> int:
        """Deliver until nothing is due (or ``stop``); returns how many attempts were made."""
        made = 0
        while not self._stopping.is_set():
            jobs = claims.claim(
                self.database,
                self._claim,
                self.clock.now(),
                self.settings.concurrency,
                self.settings.lease,
                self.settings.worker_id,
            )
            if not jobs:
                break
            answers = list(self._pool.map(self._send, jobs))
            now = self.clock.now()
            with self.database.connection(write=True) as conn:
                for job, answer in zip(jobs, answers, strict=True):
                    record(conn, job, answer, now, self.settings.worker_id)
                conn.commit()
            for answer in answers:
                self.answered[answer_kind(answer)] += 1
            made += len(jobs)
        return made

    def _send(self, job: claims.Job) -> WebhookAnswer:
        secret = open_secret(job.secret, job.secret_sealed, self.sealer)
        if secret is None:
            return WebhookAnswer(None, 0, "the signing secret opens with none of the configured credentials keys")
        try:
            return self.sender.send(WebhookRequest(job.url, secret, job.message_id, self.clock.now(), job.body))
        except Exception as exc:  # a sender's bug must not strand the batch: the delivery is retried
            log.exception("webhook delivery %s failed unexpectedly", job.delivery_id)
            return WebhookAnswer(None, 0, f"the sender failed: {type(exc).__name__}")
