"""The worker: APScheduler ticks that drain due reminders through Twilio, and due webhooks to the clinics' CRMs.

The scheduler only decides *when* to look; the database decides who sends what
(claims are leases), so any number of these may run, in their own processes or
inside the web process of the one-command demo.

``recall worker --processes N`` runs N of them on one machine (``run_processes``): a send costs a few ms of Python
under one process's GIL, so one process keeps one core busy long before the network is the limit. They share
nothing but the database: claims with ``SKIP LOCKED`` on PostgreSQL (SQLite's claim is one write under its lock),
one pacing row per clinic and channel, so together they keep each clinic's rate.

It needs no Flask app: it is given its settings (``WorkerSettings``, typed, read from the service's settings
once), a Database and a clock. ``recall worker`` and ``serve`` (recall.web.cli) build those and call it.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from integrations.twilio.accounts import AccountRouter
from integrations.twilio.client import TwilioGateway
from integrations.webhooks.sender import HttpWebhookSender
from recall import telemetry
from recall.common.clock import Clock
from recall.common.db import Database
from recall.events.delivery import Deliverer, DeliverySettings
from recall.privacy import retention
from recall.reminders import replans
from recall.reminders.accounts import Sealer, token_lookup
from recall.reminders.dispatch import Dispatcher, DispatchSettings

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """What a worker is told: the settings of the same names (config), typed. ``serve`` replaces some for its
    in-process worker (``dataclasses.replace``) instead of changing the settings the web views read."""

    twilio_account_sid: str
    twilio_auth_token: str = dataclasses.field(repr=False)  # a secret: never in a log line or a traceback
    twilio_base_url: str | None
    twilio_timeout_seconds: float
    twilio_credentials_key: str | None = dataclasses.field(repr=False)
    twilio_default_from: str | None
    public_base_url: str  # the absolute address Twilio calls back (status callbacks, the call's TwiML)
    worker_concurrency: int
    worker_interval_seconds: float
    webhook_interval_seconds: float = 1.0
    webhook_concurrency: int = 8
    webhook_timeout_seconds: float = 10.0
    webhook_lease_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WorkerSettings:
        """From the service's settings (``config.load``'s, or an app's config): each field is the setting of its
        name in capitals."""
        return cls(**{field.name: settings[field.name.upper()] for field in dataclasses.fields(cls)})


def build_dispatcher(settings: WorkerSettings, database: Database, clock: Clock) -> tuple[Dispatcher, AccountRouter]:
    """The dispatcher a worker runs and the gateway it sends through (close it when done)."""
    account: dict[str, Any] = {  # how every gateway reaches Twilio, the service's and each clinic's
        "base_url": settings.twilio_base_url,
        "timeout": settings.twilio_timeout_seconds,
        "max_pool": settings.worker_concurrency + 4,
    }
    gateway = AccountRouter(  # the service-wide account, and each clinic's own (integrations.twilio.accounts)
        TwilioGateway(settings.twilio_account_sid, settings.twilio_auth_token, **account),
        token_lookup(database, Sealer.from_setting(settings.twilio_credentials_key)),
        **account,
    )
    dispatch = DispatchSettings(
        worker_id=f"{socket.gethostname()}:{os.getpid()}"[:64],
        callback_base=settings.public_base_url,
        concurrency=settings.worker_concurrency,
        default_from=settings.twilio_default_from,
    )
    return Dispatcher(database, clock, gateway, gateway, dispatch, observer=telemetry.SendTelemetry()), gateway


def build_deliverer(settings: WorkerSettings, database: Database, clock: Clock) -> Deliverer:
    """The webhook deliverer a worker runs (``close`` it when done): signed POSTs from the outbox."""
    sender = HttpWebhookSender(timeout=settings.webhook_timeout_seconds, pool=settings.webhook_concurrency)
    return Deliverer(
        database,
        clock,
        sender,
        Sealer.from_setting(settings.twilio_credentials_key),
        DeliverySettings(
            worker_id=f"{socket.gethostname()}:{os.getpid()}"[:64],
            concurrency=settings.webhook_concurrency,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        ),
    )


def _deliver(deliverer: Deliverer) -> None:
    made = deliverer.drain()
    telemetry.ticked("webhooks", made)
    telemetry.webhooks_answered(deliverer.take_answered())
    if made:
        _log.info("webhook attempts made: %s", made)


def schedule_webhooks(
    scheduler: BlockingScheduler | BackgroundScheduler, settings: WorkerSettings, database: Database, clock: Clock
) -> Deliverer:
    """Add the webhook job to ``scheduler``: due deliveries every ``webhook_interval_seconds``, never two at once."""
    deliverer = build_deliverer(settings, database, clock)
    scheduler.add_job(
        _deliver,
        "interval",
        args=[deliverer],
        seconds=settings.webhook_interval_seconds,
        max_instances=1,
        coalesce=True,
        id="deliver-webhooks",
    )
    return deliverer


RETENTION_EVERY = timedelta(hours=1)


def purge_old_texts(database: Database, clock: Clock) -> None:
    """The clinics' retention (recall.privacy.retention): SMS texts and receipts older than they keep go."""
    with database.writer() as session:
        purged = retention.purge(session, clock.now())
        session.commit()
    if purged.texts or purged.receipts or purged.notifications:
        _log.info(
            "retention purge",
            extra={"texts": purged.texts, "receipts": purged.receipts, "notifications": purged.notifications},
        )


def _tick(dispatcher: Dispatcher) -> None:
    result = dispatcher.drain()
    telemetry.ticked("reminders", result.total)
    if result.total:
        _log.info("reminders dispatched: %s", result.outcomes)


def _replan(database: Database, clock: Clock) -> None:
    batches = replans.work(database, clock)
    telemetry.ticked("replans", batches)


def schedule(
    settings: WorkerSettings, database: Database, clock: Clock, *, blocking: bool
) -> tuple[BlockingScheduler | BackgroundScheduler, Dispatcher]:
    """A scheduler whose job drains due reminders every ``worker_interval_seconds`` (never two at once), whose
    second goes on with the re-plans under way (``recall.reminders.replans``) as often, and which purges texts
    past the clinics' retention every hour."""
    dispatcher, _gateway = build_dispatcher(settings, database, clock)
    scheduler: BlockingScheduler | BackgroundScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    scheduler.add_job(
        _tick,
        "interval",
        args=[dispatcher],
        seconds=settings.worker_interval_seconds,
        max_instances=1,
        coalesce=True,
        id="dispatch-reminders",
    )
    scheduler.add_job(
        _replan,
        "interval",
        args=[database, clock],
        seconds=settings.worker_interval_seconds,
        max_instances=1,
        coalesce=True,
        id="replan-reminders",
    )
    scheduler.add_job(
        purge_old_texts,
        "interval",
        args=[database, clock],
        seconds=RETENTION_EVERY.total_seconds(),
        max_instances=1,
        coalesce=True,
        id="purge-old-texts",
    )
    return scheduler, dispatcher


def stop_gently_on_signals(*dispatchers: Dispatcher | Deliverer) -> None:
    """On SIGTERM or SIGINT the dispatchers claim nothing more (``Dispatcher.stop``) and the main thread gets
    ``SystemExit(0)``; whoever runs the scheduler then shuts it down waiting, so the drain under way finishes
    its sends in flight, records them, and gives back the reminders it claimed ahead."""

    def stop(signum: int, _frame: object) -> None:
        _log.info("signal %s: stopping after the sends in flight", signum)
        for dispatcher in dispatchers:
            dispatcher.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def run_until_stopped(settings: WorkerSettings, database: Database, clock: Clock) -> None:
    """The worker process: ticks until SIGTERM or SIGINT, then stops gently (``Dispatcher.stop``): the sends in
    flight finish and are recorded, the reminders claimed ahead go back to the queue, and the process exits."""
    scheduler, dispatcher = schedule(settings, database, clock, blocking=True)
    deliverer = schedule_webhooks(scheduler, settings, database, clock)
    stop_gently_on_signals(dispatcher, deliverer)
    try:
        scheduler.start()
    except SystemExit:
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        deliverer.close()


RESTART_AFTER = 5.0  # seconds before a sending process that died is started again


def processes_for(setting: int) -> int:
    """How many sending processes ``WORKER_PROCESSES`` asks for: 0 is one per core."""
    return setting or os.cpu_count() or 1


def exit_with_parent(parent: int) -> None:
    """In a sending process: when ``parent``, the supervisor that started it, is gone (killed outright, maybe
    before this process got this far), stop gently as on SIGTERM, so no sender outlives its supervisor."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="recall-parent-watch", daemon=True).start()


def run_processes(count: int, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    """Supervise ``count`` sending processes, each ``target(*args)`` (a whole worker: ``run_until_stopped``),
    started fresh (spawn: no connection crosses a fork). One that dies is started again after RESTART_AFTER.
    SIGTERM or SIGINT is passed on to each, which stops gently, and waited for."""
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    children: list[Any] = [None] * count
    died_at: list[float | None] = [None] * count

    def start(index: int) -> None:
        child = spawn.Process(target=target, args=args, name=f"recall-worker-{index}")
        child.start()
        children[index], died_at[index] = child, None

    def stop(signum: int, _frame: object) -> None:
        _log.info("signal %s: stopping %s sending processes gently", signum, count)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        start(index)
    while not stopping.wait(0.5):
        for index, child in enumerate(children):
            if child.is_alive():
                continue
            if died_at[index] is None:
                _log.warning("sending process %s exited with %s; starting another", index, child.exitcode)
                died_at[index] = time.monotonic()
            elif time.monotonic() - (died_at[index] or 0.0) >= RESTART_AFTER:
                start(index)
    for child in children:
        if child.is_alive():
            child.terminate()  # SIGTERM: the child's own gentle stop
    for child in children:
        child.join()
