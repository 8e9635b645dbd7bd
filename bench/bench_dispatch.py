"""Reminder dispatch throughput against a bare Twilio SDK loop, and the accuracy of the per-clinic rate limit.

    .venv/bin/python bench/bench_dispatch.py                       # fresh SQLite file
    .venv/bin/python bench/bench_dispatch.py --reset \
        --database-url postgresql://postgres@127.0.0.1:5432/recall_bench_dispatch

The Twilio stand-in runs in its own process (``python -m integrations.twilio``, ``--latency-ms`` per
request, 50 by default), so its CPU is not ours. Both measured loops run in this process, one after the
other, each with ``--concurrency`` (32) threads and a TwilioGateway (the real SDK through
RoutingHttpClient) pointed at the stand-in:

* bare:     ``--reminders`` calls of ``TwilioGateway.send_sms`` (``client.messages.create`` plus the
            idempotency header), nothing else; run before and after the dispatch, the mean is the baseline;
* dispatch: ``recall.dispatch.Dispatcher.drain()`` over as many due SMS reminders (bulk-loaded), with the
            same settings as ``flask recall worker``: claim under a lease, check, render, send, record. With
            ``--processes N``, N sending processes (``recall worker --processes N``) share the same total
            concurrency, each started and ready before the clock starts.

The dispatch clinic has no rate limit: its policy says ``"sms_per_second": null`` (no limit of ours);
``--no-limit-as max`` uses a policy at the highest rate a policy takes, 100/s, instead.
Then one run per ``--rates`` entry (rate:count) with a policy at that rate: the achieved rate is
(n-1)/(last-first) over the stand-in's request times, and the busiest 1-second window is counted.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # integrations/, whatever the editable install maps

from _common import BenchDatabase, Watchdog, bench_parser, machine_note, open_database
from _dispatch_setup import (
    ACCOUNT,
    BODY,
    CALLBACK,
    FROM,
    TOKEN,
    StandInProcess,
    cancel_leftovers,
    due_planned,
    load_reminders,
    make_clinic,
)

from integrations.twilio.client import TwilioGateway
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import MAX_RATE
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.reminders.sending import SenderIdentity

TARGET_RATIO, TARGET_RATE_ERROR = 0.9, 0.01


# --------------------------------------------------------------------------- the measured loops


@dataclass
class Phase:
    name: str
    n: int
    wall: float
    cpu: float  # this process, all threads
    standin_cpu: float
    times: list[float]  # when the stand-in answered each create, sorted
    outcomes: dict[str, int]

    @property
    def throughput(self) -> float:
        return self.n / self.wall if self.wall else math.nan

    @property
    def steady(self) -> float:
        """The rate between the first and the last request the stand-in saw: (n-1)/(last-first)."""
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        return (len(self.times) - 1) / span if span else math.nan

    @property
    def busiest_second(self) -> int:
        t, best, j = self.times, 0, 0
        for i in range(len(t)):
            while t[i] - t[j] >= 1.0:
                j += 1
            best = max(best, i - j + 1)
        return best

    def show(self) -> None:
        print(
            f"  {self.name:<30} {self.n:>6} sent in {self.wall:6.2f} s = {self.throughput:7.1f} msgs/s "
            f"(first..last request {self.steady:7.1f}/s); CPU/msg here {1000 * self.cpu / max(self.n, 1):5.2f} ms, "
            f"stand-in {1000 * self.standin_cpu / max(self.n, 1):5.2f} ms; {self.outcomes}"
        )


def measure(name: str, standin: StandInProcess, run: Callable[[], dict[str, int]]) -> Phase:
    standin.reset()
    cpu0, sc0, t0 = time.process_time(), standin.cpu_seconds(), time.perf_counter()
    outcomes = run()
    wall, cpu, scpu = time.perf_counter() - t0, time.process_time() - cpu0, standin.cpu_seconds() - sc0
    cpu += getattr(run, "children_cpu", [0.0])[0]  # the sending processes', with --processes
    times = sorted(r["at"] for r in standin.creates() if r["status"] == 201)
    return Phase(name, outcomes.get("sent", 0), wall, cpu, scpu, times, outcomes)


def round_trip_ms(gateway: TwilioGateway, standin: StandInProcess, n: int = 21) -> float:
    standin.reset()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        gateway.send_sms(
            to=f"+4670{9_000_000 + i:07d}",
            body=BODY,
            idempotency_key=f"rtt-{i}",
            status_callback=f"{CALLBACK}/rtt",
            sender=SenderIdentity(from_number=FROM),
        )
        times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[n // 2]


def bare_loop(
    gateway: TwilioGateway, n: int, concurrency: int, phone_base: int, max_seconds: float
) -> Callable[[], dict[str, int]]:
    def run() -> dict[str, int]:
        position, lock, counts = iter(range(n)), threading.Lock(), {"sent": 0, "error": 0}
        deadline, sender = time.monotonic() + max_seconds, SenderIdentity(from_number=FROM)

        def worker() -> None:
            sent = errors = 0
            while time.monotonic() < deadline:
                with lock:
                    i = next(position, None)
                if i is None:
                    break
                try:
                    gateway.send_sms(
                        to=f"+4670{phone_base + i:07d}",
                        body=BODY,
                        idempotency_key=f"bare-{i}",
                        status_callback=f"{CALLBACK}/webhooks/twilio/message-status?r={i}",
                        sender=sender,
                    )
                    sent += 1
                except Exception:
                    errors += 1
            with lock:
                counts["sent"] += sent
                counts["error"] += errors

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max_seconds + 60)
        return {k: v for k, v in counts.items() if v}

    return run


def dispatch(
    db: Database, gateway: TwilioGateway, concurrency: int, max_seconds: float, prefetch: int | None = None
) -> Callable[[], dict[str, int]]:
    settings = DispatchSettings(
        worker_id=f"bench:{os.getpid()}",
        callback_base=CALLBACK,
        concurrency=concurrency,
        default_from=FROM,
        prefetch=prefetch,
    )
    dispatcher = Dispatcher(db, SystemClock(), gateway, gateway, settings)

    def run() -> dict[str, int]:
        before = recorded_sent(db)
        outcomes = dispatcher.drain(max_seconds=max_seconds).outcomes
        missing = outcomes.get("sent", 0) - (recorded_sent(db) - before)
        if missing:  # a send counted here must be a row that says so
            outcomes["SENT BUT NOT RECORDED"] = missing
        left = cancel_leftovers(db)
        return {**outcomes, "left unsent (time cap)": left} if left else outcomes

    return run


def _drain_in_process(
    url: str, base_url: str, concurrency: int, max_seconds: float, ready: Any, go: Any, results: Any
) -> None:
    """One sending process of ``--processes``: a dispatcher of its own, as ``recall worker --processes`` runs."""
    import recall.models  # noqa: F401  (every table, as the service's processes have them)

    db = Database(url, pool_size=concurrency + 4, max_overflow=4)
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=base_url, max_pool=concurrency + 4)
    settings = DispatchSettings(
        worker_id=f"bench:{os.getpid()}", callback_base=CALLBACK, concurrency=concurrency, default_from=FROM
    )
    dispatcher = Dispatcher(db, SystemClock(), gateway, gateway, settings)
    ready.wait()
    go.wait()
    cpu = time.process_time()
    outcomes = dispatcher.drain(max_seconds=max_seconds).outcomes
    results.put((outcomes, time.process_time() - cpu))
    gateway.close()
    db.dispose()


def dispatch_processes(
    db: Database, url: str, base_url: str, processes: int, concurrency: int, max_seconds: float
) -> Callable[[], dict[str, int]]:
    """``processes`` sending processes of ``concurrency / processes`` threads each, started and ready before the
    clock starts (their imports are not the dispatch's), draining the same due reminders."""
    spawn = multiprocessing.get_context("spawn")
    ready, go, results = spawn.Barrier(processes + 1), spawn.Event(), spawn.Queue()
    each = max(1, concurrency // processes)
    children = [
        spawn.Process(target=_drain_in_process, args=(url, base_url, each, max_seconds, ready, go, results))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    ready.wait()
    cpu = [0.0]

    def run() -> dict[str, int]:
        before = recorded_sent(db)
        go.set()
        total: Counter[str] = Counter()
        for _ in children:
            outcomes, seconds = results.get(timeout=max_seconds + 60)
            total.update(outcomes)
            cpu[0] += seconds
        for child in children:
            child.join(30)
        outcomes = dict(total)
        missing = outcomes.get("sent", 0) - (recorded_sent(db) - before)
        if missing:
            outcomes["SENT BUT NOT RECORDED"] = missing
        left = cancel_leftovers(db)
        return {**outcomes, "left unsent (time cap)": left} if left else outcomes

    run.children_cpu = cpu  # type: ignore[attr-defined]
    return run


def recorded_sent(db: Database) -> int:
    with db.reader() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Reminder).where(Reminder.status == ReminderStatus.SENT))
            or 0
        )


# --------------------------------------------------------------------------- the run


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--reminders", type=int, default=10_000, help="per throughput phase (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="sender threads (default %(default)s)")
    parser.add_argument("--latency-ms", type=int, default=50, help="the stand-in's delay per request")
    parser.add_argument(
        "--rates", default="30:600,100:2000", help="rate-limited runs, rate/s:reminders, comma-separated ('' for none)"
    )
    parser.add_argument(
        "--no-limit-as",
        choices=("null", "max"),
        default="null",
        help="the throughput clinic's rate: null in its policy (no limit) or the maximum, 100/s",
    )
    parser.add_argument("--max-seconds", type=float, default=240, help="time cap per measured phase")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="sending processes sharing --concurrency, as `recall worker --processes` (default %(default)s: "
        "the dispatcher in this process)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        default=None,
        help="reminders a worker claims ahead of its free threads (default: the worker's own)",
    )
    args = parser.parse_args()
    rates = [(float(r), int(c)) for r, c in (item.split(":") for item in args.rates.split(",") if item)]

    watchdog = Watchdog(args.timeout)
    bdb: BenchDatabase = open_database(args.database_url, reset=args.reset)
    db = Database(bdb.url, pool_size=args.concurrency + 4, max_overflow=4)  # as `flask recall worker` sizes it
    standin = StandInProcess(args.latency_ms)
    watchdog.cleanups.append(standin.stop)
    gateway = TwilioGateway(ACCOUNT, TOKEN, base_url=standin.base_url, max_pool=args.concurrency + 4)
    try:
        if due_planned(db):
            raise SystemExit(f"{due_planned(db)} reminders are already due in this database; use --reset")
        print(f"database: {bdb.describe()}\nmachine: {machine_note()}")
        print(f"stand-in: own process, {args.latency_ms} ms per request; {args.concurrency} sender threads here")
        t = time.perf_counter()
        load_reminders(db, make_clinic(db, None if args.no_limit_as == "null" else MAX_RATE), args.reminders, 0)
        print(
            f"loaded {args.reminders} due SMS reminders in {time.perf_counter() - t:.1f} s "
            f"(rate: {'none, null in the policy' if args.no_limit_as == 'null' else f'{MAX_RATE:g}/s'})\n"
        )

        print(
            f"stand-in round trip, one request at a time: p50 {round_trip_ms(gateway, standin):.1f} ms "
            f"(its latency is {args.latency_ms} ms; the rest is HTTP, the SDK and TCP)\n"
        )
        print("throughput")
        bare1 = measure(
            "bare SDK loop (before)",
            standin,
            bare_loop(gateway, args.reminders, args.concurrency, 5_000_000, args.max_seconds),
        )
        bare1.show()
        if args.processes > 1:
            sending = dispatch_processes(
                db, bdb.url, standin.base_url, args.processes, args.concurrency, args.max_seconds
            )
            run = measure(f"recall dispatch, {args.processes} processes", standin, sending)
        else:
            run = measure(
                "recall dispatch", standin, dispatch(db, gateway, args.concurrency, args.max_seconds, args.prefetch)
            )
        run.show()
        unrecorded = run.outcomes.get("SENT BUT NOT RECORDED", 0)
        bare2 = measure(
            "bare SDK loop (after)",
            standin,
            bare_loop(gateway, args.reminders, args.concurrency, 5_000_000, args.max_seconds),
        )
        bare2.show()
        bare, bare_steady = (bare1.throughput + bare2.throughput) / 2, (bare1.steady + bare2.steady) / 2
        ratio = run.throughput / bare
        print(
            f"  ratio dispatch/bare: {ratio:.3f} (first..last: {run.steady / bare_steady:.3f})"
            f"   target >= {TARGET_RATIO}: {'MET' if ratio >= TARGET_RATIO else 'NOT MET'}"
        )
        print(
            f"  concurrency limit: {args.concurrency} x 1/{args.latency_ms} ms = "
            f"{args.concurrency * 1000 / args.latency_ms:.0f} msgs/s\n"
        )

        print("rate limits (achieved = (n-1)/(last-first) of the stand-in's request times)")
        phone_base = args.reminders
        for rate, count in rates:
            load_reminders(db, make_clinic(db, rate), count, phone_base)
            phone_base += count
            phase = measure(f"limit {rate:g}/s", standin, dispatch(db, gateway, args.concurrency, args.max_seconds))
            unrecorded += phase.outcomes.get("SENT BUT NOT RECORDED", 0)
            error = (phase.steady - rate) / rate
            close, below = abs(error) <= TARGET_RATE_ERROR, phase.steady <= rate and phase.busiest_second <= rate
            print(
                f"  limit {rate:6g}/s, {count:5} reminders: achieved {phase.steady:8.3f}/s ({100 * error:+.2f} %), "
                f"busiest 1 s window {phase.busiest_second}, wall {phase.wall:.1f} s, {phase.outcomes}\n"
                f"{'':20}within 1 %: {'MET' if close else 'NOT MET'}; never above (achieved and busiest "
                f"second <= limit): {'MET' if below else 'NOT MET'}"
            )
        print(f"\nmachine after: {machine_note()}")
        return 1 if unrecorded else 0
    finally:
        gateway.close()
        standin.stop()
        db.dispose()
        bdb.close()
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
