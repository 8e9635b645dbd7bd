"""A reminder worker in a process of its own, for the tests that pause and kill workers (test_dispatch_rate.py,
test_dispatch_crash.py): what ``flask --app wsgi recall worker`` runs (a ``Dispatcher`` on a ``TwilioGateway``,
draining on a short tick, stopping gently on SIGTERM or SIGINT), with the settings a test needs and the CLI does
not take: fewer parallel sends (six engineers share one PostgreSQL server's 100 connections), a short lease and
a short recovery margin, so that a lapsed lease and its recovery happen within seconds.

    python -m tests.integration._sender --url URL --twilio URL [--concurrency 8] [--lease 120] ...

It names itself ``<host>:<pid>`` as the CLI's worker does, uses the system clock, and exits after
``--max-seconds`` whatever happens (it never outlives a test run).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from datetime import timedelta

from integrations.twilio.client import TwilioGateway
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from tests.integration._processes import ACCOUNT, CALLBACK_BASE, SENDER, TOKEN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--twilio", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prefetch", type=int, default=None)
    parser.add_argument("--lease", type=float, default=120)
    parser.add_argument("--recover-after", type=float, default=60)
    parser.add_argument("--reap-every", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")

    stop = threading.Timer(args.max_seconds, lambda: os._exit(5))
    stop.daemon = True
    stop.start()
    database = Database(args.url, pool_size=args.concurrency + 4, max_overflow=4)
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=args.twilio, timeout=10.0, max_pool=args.concurrency + 4)
    dispatcher = Dispatcher(
        database,
        SystemClock(),
        gateway,
        gateway,
        DispatchSettings(
            worker_id=f"{socket.gethostname()}:{os.getpid()}"[:64],
            callback_base=CALLBACK_BASE,
            concurrency=args.concurrency,
            prefetch=args.prefetch,
            default_from=SENDER,
            lease=timedelta(seconds=args.lease),
            recover_after=timedelta(seconds=args.recover_after),
            reap_every=timedelta(seconds=args.reap_every),
        ),
    )
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        dispatcher.stop()
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("READY", flush=True)
    while not stopping.is_set():
        result = dispatcher.drain()
        if result.total:
            print(f"dispatched: {result.outcomes}", flush=True)
        stopping.wait(0.2)
    gateway.close()
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
