"""What a worker tells the outside about its work: Prometheus series and one log line per reminder.

The series are counted in the worker's process; with ``PROMETHEUS_MULTIPROC_DIR`` set to the web app's
directory (on the same machine), the app's ``/metrics`` adds them to its own (recall.web.metrics). The log line
per reminder sent or failed names ids, the channel, the outcome and the provider's code, never a destination or
a text; the other outcomes (deferred to the patient's hours, handed to a person, ...) are counted, not logged.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram

from recall.reminders.sending import SendReport

log = logging.getLogger("recall.reminders")

REMINDERS = Counter("recall_reminders", "Claimed reminders by channel and what became of them", ["channel", "outcome"])
DUE_TO_SENT = Histogram(
    "recall_reminder_due_to_sent_seconds",
    "From a reminder's planned send time to the provider taking it, by channel",
    ["channel"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400),
)
PROVIDER_ERRORS = Counter("recall_twilio_errors", "Sends Twilio refused or failed, by its error code", ["code"])
RATE_WAITS = Histogram(
    "recall_rate_limit_wait_seconds",
    "Time a send waited for its sender's rate limit, by channel",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
TICKS = Counter("recall_worker_ticks", "Worker ticks, by job", ["job"])
CLAIMED = Counter(
    "recall_worker_claimed", "Reminders and webhook deliveries the worker claimed and worked, by job", ["job"]
)
WEBHOOKS = Counter("recall_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"])
LOGGED = frozenset({"sent", "failed", "retry", "unknown"})


class SendTelemetry:
    """The dispatcher's observer (``recall.reminders.sending.SendObserver``): counts every outcome, logs sends."""

    def observed(self, report: SendReport) -> None:
        REMINDERS.labels(report.channel, report.outcome).inc()
        if report.waited_seconds:
            RATE_WAITS.labels(report.channel).observe(report.waited_seconds)
        if report.due_to_sent_seconds is not None:
            DUE_TO_SENT.labels(report.channel).observe(report.due_to_sent_seconds)
        if report.provider_code is not None:
            PROVIDER_ERRORS.labels(str(report.provider_code)).inc()
        if report.outcome in LOGGED:
            log.info(
                "reminder %s",
                report.outcome,
                extra={
                    "reminder_id": report.reminder_id,
                    "clinic_id": report.clinic_id,
                    "booking_id": report.booking_id,
                    "channel": report.channel,
                    "outcome": report.outcome,
                    "twilio_code": report.provider_code,
                },
            )


def ticked(job: str, claimed: int) -> None:
    TICKS.labels(job).inc()
    if claimed:
        CLAIMED.labels(job).inc(claimed)


def webhooks_answered(answered: dict[str, int]) -> None:
    for outcome, count in answered.items():
        WEBHOOKS.labels(outcome).inc(count)
