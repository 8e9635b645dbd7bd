"""Checkout throughput through gunicorn with two workers against the same with one, in the same run.

    .venv/bin/python bench/bench_gunicorn.py --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset
    .venv/bin/python bench/bench_gunicorn.py                # a fresh SQLite file (one writer: expect no scaling)

Two gunicorn servers from ``config/gunicorn.conf.py`` (gthread, ``--server-threads`` threads per worker), one after
the other on the same database: ``WEB_WORKERS=1``, then ``WEB_WORKERS=2``. Each gets the same kind of load: the
front desk's checkouts (``POST /api/v1/visits/<id>/checkout``, half booking a follow-up, half opening a recall task)
from ``--concurrency`` client threads in this process, each request sent once. Reported: requests/s and latency of
each, and the scaling (two workers / one; 2.0 would be perfect). The load generator shares the machine: on two
cores it takes CPU from the servers, so the ceiling here is below 2.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Watchdog, bench_parser, machine_note, open_database, run_load
from _gunicorn import Gunicorn
from bench_checkout import World, show


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="measured checkouts per server")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured checkouts per server first")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (default %(default)s)")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--max-seconds", type=float, default=120, help="time cap per measured phase")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    watchdog = Watchdog(args.timeout)
    rng = random.Random(args.seed)
    bdb = open_database(args.database_url, reset=args.reset)
    results = {}
    try:
        world = World(bdb, n_desk=args.concurrency)
        print(f"database: {bdb.describe()}")
        print(f"machine: {machine_note()}")
        print(
            f"load: {args.concurrency} client threads in this process -> gunicorn gthread, "
            f"{args.server_threads} threads per worker; {args.requests} measured checkouts per server"
        )
        for workers in (1, 2):
            visits = world.checked_in_visits(args.warmup + args.requests)
            warm = world.checkout_requests(visits[: args.warmup], 0.5, rng)
            measured = world.checkout_requests(visits[args.warmup :], 0.5, rng)
            server = Gunicorn(bdb.url, workers, args.server_threads)
            watchdog.cleanups.append(server.stop)
            try:
                run_load(server.port, warm, concurrency=args.concurrency, max_seconds=args.max_seconds)
                results[workers] = run_load(
                    server.port, measured, concurrency=args.concurrency, max_seconds=args.max_seconds, server=server
                )
            finally:
                server.stop()
                watchdog.cleanups.remove(server.stop)
        print()
        for workers, result in results.items():
            show(f"{workers} worker{'s' if workers > 1 else ''}", result, args.concurrency)
        scaling = results[2].throughput / results[1].throughput
        print(f"scaling 2 workers / 1: {scaling:.2f}x   (2.0 would be linear)")
        return 0 if all(not r.errors for r in results.values()) else 1
    finally:
        watchdog.cancel()
        bdb.close()


if __name__ == "__main__":
    raise SystemExit(main())
