"""The reminder worker: APScheduler ticks that drain due reminders through Twilio.

The scheduler only decides *when* to look; the database decides who sends what
(claims are leases), so any number of these may run, in their own processes or
inside the web process of the one-command demo.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Mapping
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from integrations.twilio.accounts import AccountRouter
from integrations.twilio.client import TwilioGateway
from recall.common.clock import Clock
from recall.common.db import Database
from recall.reminders.accounts import Sealer, token_lookup
from recall.reminders.dispatch import Dispatcher, DispatchSettings

_log = logging.getLogger(__name__)


def build_dispatcher(config: Mapping[str, Any], database: Database, clock: Clock) -> tuple[Dispatcher, AccountRouter]:
    account = {
        "base_url": config["TWILIO_BASE_URL"],
        "timeout": config["TWILIO_TIMEOUT_SECONDS"],
        "max_pool": config["WORKER_CONCURRENCY"] + 4,
    }
    gateway = AccountRouter(  # the service-wide account, and each clinic's own (integrations.twilio.accounts)
        TwilioGateway(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], **account),
        token_lookup(database, Sealer.from_setting(config.get("TWILIO_CREDENTIALS_KEY"))),
        **account,
    )
    settings = DispatchSettings(
        worker_id=f"{socket.gethostname()}:{os.getpid()}"[:64],
        callback_base=config["PUBLIC_BASE_URL"],
        concurrency=config["WORKER_CONCURRENCY"],
        default_from=config["TWILIO_DEFAULT_FROM"],
    )
    return Dispatcher(database, clock, gateway, gateway, settings), gateway


def _tick(dispatcher: Dispatcher) -> None:
    result = dispatcher.drain()
    if result.total:
        _log.info("reminders dispatched: %s", result.outcomes)


def schedule(
    app: Flask, database: Database, *, blocking: bool, settings: Mapping[str, Any] | None = None
) -> tuple[BlockingScheduler | BackgroundScheduler, Dispatcher]:
    """A scheduler whose one job drains due reminders every WORKER_INTERVAL_SECONDS (never two at once).
    ``settings`` override the app's for this worker only (``serve`` passes its callback URL and stand-in)."""
    config = {**app.config, **(settings or {})}
    dispatcher, _gateway = build_dispatcher(config, database, app.extensions["recall.clock"])
    scheduler: BlockingScheduler | BackgroundScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    scheduler.add_job(
        _tick,
        "interval",
        args=[dispatcher],
        seconds=config["WORKER_INTERVAL_SECONDS"],
        max_instances=1,
        coalesce=True,
        id="dispatch-reminders",
    )
    return scheduler, dispatcher


def stop_gently_on_signals(*dispatchers: Dispatcher) -> None:
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


def run_until_stopped(app: Flask, database: Database, settings: Mapping[str, Any] | None = None) -> None:
    """The worker process: ticks until SIGTERM or SIGINT, then stops gently (``Dispatcher.stop``): the sends in
    flight finish and are recorded, the reminders claimed ahead go back to the queue, and the process exits."""
    scheduler, dispatcher = schedule(app, database, blocking=True, settings=settings)
    stop_gently_on_signals(dispatcher)
    try:
        scheduler.start()
    except SystemExit:
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
