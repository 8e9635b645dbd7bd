"""Webhook delivery throughput through the outbox and the worker, against a bare signed-POST loop to the same
receiver at the same concurrency, in the same run.

    .venv/bin/python bench/bench_webhooks.py                     # fresh SQLite file
    .venv/bin/python bench/bench_webhooks.py --reset --pg postgresql://postgres@127.0.0.1:5432/recall_bench_hooks

The receiver runs in its own process (``--latency-ms`` per request, 20 by default), so its CPU is not ours.
Both measured loops run here with ``--concurrency`` (8, ``WEBHOOK_CONCURRENCY``'s default) threads and the
worker's sender (``integrations.webhooks.sender.HttpWebhookSender``: requests, signed with standardwebhooks):

* bare:   ``--events`` signed POSTs of the same body, nothing else; run before and after, the mean is the baseline;
* outbox: ``recall.events.delivery.Deliverer.drain()`` over as many events emitted beforehand (``emit`` in
          transactions of 500, one endpoint subscribed, one event per booking): claim under a lease, open the
          secret, sign, POST, record the answer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _common import Watchdog, bench_parser, machine_note, open_database

from integrations.webhooks.sender import HttpWebhookSender
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.staff import create_staff
from recall.common.actors import Actor, Role
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.events.delivery import Deliverer, DeliverySettings
from recall.events.endpoints import create_endpoint
from recall.events.outbox import emit
from recall.events.port import WebhookRequest
from recall.events.types import EventType, Resource, ResourceType

BODY = '{"type":"booking.created","timestamp":"2026-12-03T10:00:00Z","data":{"object":"booking","id":1}}'


def serve_receiver(latency_ms: int) -> None:
    """The receiver process: prints its address, answers 204 after ``latency_ms``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(latency_ms / 1000)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}/hooks", flush=True)
    server.serve_forever()


def bare(url: str, secret: str, n: int, concurrency: int) -> float:
    sender = HttpWebhookSender(pool=concurrency)
    failures = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal failures
        answer = sender.send(WebhookRequest(url, secret, f"msg_bare_{i}", datetime.now(UTC), BODY))
        if not answer.delivered:
            with lock:
                failures += 1

    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - t
    sender.close()
    assert failures == 0, f"{failures} bare POSTs failed"
    return n / elapsed


def setup(db: Database, url: str, n: int) -> tuple[int, str, float]:
    clock = SystemClock()
    with db.writer() as s:
        clinic = create_clinic(
            s, clock, ClinicInput(name=f"Bench {time.time_ns()}", timezone="Europe/Stockholm", phone_region="SE")
        )
        manager = create_staff(s, clock, Actor.system(clinic.id), name="Bench manager", role=Role.MANAGER)
        s.commit()
    actor = Actor(staff_id=manager.id, clinic_id=clinic.id, role=Role.MANAGER)
    with db.writer() as s:
        _, secret = create_endpoint(s, clock, actor, {"url": url, "event_types": [EventType.BOOKING_CREATED]}, None)
    t = time.perf_counter()
    for start in range(0, n, 500):
        with db.writer() as s:
            for i in range(start, min(n, start + 500)):
                emit(
                    s,
                    clinic.id,
                    EventType.BOOKING_CREATED,
                    Resource(ResourceType.BOOKING, i + 1),
                    {"n": i},
                    now=clock.now(),
                )
            s.commit()
    return clinic.id, secret, n / (time.perf_counter() - t)


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--pg", dest="database_url", help="a PostgreSQL URL (same as --database-url)")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--serve-receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.latency_ms)
        return 0
    watchdog = Watchdog(args.timeout)
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--serve-receiver", "--latency-ms", str(args.latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog.cleanups.append(receiver.kill)
    bdb = open_database(args.database_url, reset=args.reset)
    db = Database(bdb.url, pool_size=args.concurrency + 4, max_overflow=4)
    try:
        assert receiver.stdout is not None
        url = receiver.stdout.readline().strip()
        print(f"database: {bdb.describe()}\nmachine: {machine_note()}")
        print(f"receiver: own process, {args.latency_ms} ms per request; {args.concurrency} sender threads here")
        clinic_id, secret, emit_rate = setup(db, url, args.events)
        print(f"emitted {args.events} events through the outbox at {emit_rate:,.0f}/s (transactions of 500)")
        before = bare(url, secret, args.events, args.concurrency)
        deliverer = Deliverer(
            db,
            SystemClock(),
            HttpWebhookSender(pool=args.concurrency),
            None,
            DeliverySettings(worker_id="bench", concurrency=args.concurrency),
        )
        t = time.perf_counter()
        made = deliverer.drain()
        outbox = made / (time.perf_counter() - t)
        deliverer.close()
        after = bare(url, secret, args.events, args.concurrency)
        baseline = (before + after) / 2
        assert made == args.events, f"{made} attempts for {args.events} events"
        print(f"bare signed POST loop: {before:,.0f}/s before, {after:,.0f}/s after, mean {baseline:,.0f}/s")
        print(f"outbox + worker:       {outbox:,.0f} deliveries/s")
        print(f"ratio outbox/bare:     {outbox / baseline:.2f}")
    finally:
        receiver.kill()
        db.dispose()
        bdb.close()
        watchdog.cancel()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
