"""Earnings query latency over a large credit ledger, against bare indexed lookups.

    .venv/bin/python bench/bench_earnings.py                        # fresh SQLite file, 1,000,000 entries
    .venv/bin/python bench/bench_earnings.py --entries 100000       # a quick run
    .venv/bin/python bench/bench_earnings.py --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset

Builds a ledger: a chain of ``--clinics`` clinics (different time zones) with
``--staff`` earning staff members (40% front desk, 60% operators; activity per
person is skewed, the busiest ~3x the median) over ``--months`` months up to
now. Every booking (rows in ``bookings``, for the foreign key) has a pending
entry; past bookings mostly get an earned (80%) or void (17%) entry, some stay
pending. Clinics, staff, tokens and the catalog come from the use cases;
patients, bookings and entries are bulk-loaded (executemany on SQLite, COPY on
PostgreSQL) in the exact storage form SQLAlchemy would write.

Then, for ``--queries`` random staff members over the current month and the
same number over a random past month, it measures, round-robin per query so
that every path sees the same cache state:

* use case:    recall.earnings.staff_earnings() in a reader session;
* HTTP:        GET /api/v1/earnings/me?from=...&to=... through the Flask test
               client, and through a waitress server (1 keep-alive connection);
* baselines:   SELECT count(*) FROM credit_entries WHERE staff_id = ? and a
               primary-key lookup, in a reader session; GET /readyz over HTTP.

Reported: p50/p95/p99 per path, ratios against the baselines, and whether p95
of the earnings query is within the issue's target (50 ms).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PRODUCTION_TWILIO,
    BenchDatabase,
    KeepAliveClient,
    Latencies,
    Watchdog,
    bench_parser,
    fmt_ms,
    machine_note,
    open_database,
    running_server,
)
from _ledger import LedgerBuilder, Member

from recall.common.timeutil import local_day, month_range
from recall.credit.earnings import staff_earnings
from recall.credit.ledger import CreditEntry

TARGET_P95_MS = 50.0


# --------------------------------------------------------------------------- measuring


@dataclass
class Query:
    member: Member
    start: date
    end: date
    entry_id: int  # for the primary-key baseline

    @property
    def path(self) -> str:
        return f"/api/v1/earnings/me?from={self.start.isoformat()}&to={self.end.isoformat()}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.member.token}"}


def make_queries(builder: LedgerBuilder, n: int, which: str, rng: random.Random) -> list[Query]:
    out = []
    for _ in range(n):
        m = rng.choice(builder.members)
        today = local_day(builder.now, m.zone)
        if which == "current":
            start, end = month_range(today)
        else:
            first = today.replace(day=1)
            for _ in range(rng.randint(1, builder.args.months - 1)):
                first = (first - timedelta(days=1)).replace(day=1)
            start, end = month_range(first)
        out.append(Query(m, start, end, rng.randint(1, builder.entries)))
    return out


def explain(bdb: BenchDatabase, q: Query) -> None:
    """The plans of the statements staff_earnings() sends, for one staff member."""
    captured: list[tuple[str, object]] = []

    def grab(_conn: object, _cur: object, statement: str, parameters: object, *_a: object) -> None:
        captured.append((statement, parameters))

    event.listen(bdb.db.engine, "before_cursor_execute", grab)
    try:
        with bdb.db.reader() as s:
            staff_earnings(s, q.member.id, q.start, q.end)
    finally:
        event.remove(bdb.db.engine, "before_cursor_execute", grab)
    raw = bdb.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params in captured:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN QUERY PLAN " if bdb.dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            cur.execute(prefix + statement, params)
            lines = [" | ".join(str(c) for c in row[-1:]) for row in cur.fetchall()]
            print("  " + " ".join(statement.split())[:150] + " ...")
            for line in lines:
                print("     " + line)
    finally:
        raw.close()


def run(args: argparse.Namespace, watchdog: Watchdog) -> int:
    rng = random.Random(args.seed)
    bdb = open_database(args.database_url, reset=args.reset)
    try:
        with bdb.db.reader() as s:
            existing = s.scalar(sa.select(sa.func.count()).select_from(CreditEntry))
        if existing and not args.allow_existing:
            raise SystemExit(
                f"{bdb.describe()} already holds {existing} credit entries; pass --reset to start "
                "from an empty database (or --allow-existing to add to them)"
            )
        print(f"database: {bdb.describe()}")
        print(f"machine: {machine_note()}")
        builder = LedgerBuilder(bdb, args, rng)
        t0 = time.perf_counter()
        builder.setup()
        t1 = time.perf_counter()
        builder.load()
        t2 = time.perf_counter()
        analyzed = builder.analyze(args.analyze_sqlite)
        t3 = time.perf_counter()
        per_staff = sorted(
            sum(v[1] + v[3] + v[5] for (s, *_), v in builder.expected.months.items() if s == m.id)
            for m in builder.members
        )
        print(
            f"ledger: {builder.entries:,} entries for {builder.bookings:,} bookings, {len(builder.members)} earning "
            f"staff in {args.clinics} clinics over {args.months} months; entries per staff min {per_staff[0]:,} "
            f"median {per_staff[len(per_staff) // 2]:,} max {per_staff[-1]:,}"
        )
        print(
            f"build: setup {t1 - t0:.1f} s, bulk load {t2 - t1:.1f} s "
            f"({builder.entries / (t2 - t1):,.0f} entries/s incl. bookings), {analyzed} {t3 - t2:.1f} s; "
            f"total {t3 - t0:.1f} s"
        )

        current = make_queries(builder, args.queries, "current", rng)
        past = make_queries(builder, args.queries, "past", rng)

        # What the query answers is right (and every path below answers the same thing).
        with bdb.db.reader() as s:
            for q in current[:5] + past[:5]:
                builder.expected.check(q.member.id, q.start, q.end, staff_earnings(s, q.member.id, q.start, q.end))
        print("check: staff_earnings() matches the totals computed while generating (10 staff-months)")
        if args.explain:
            print("query plans (one staff member, current month):")
            explain(bdb, current[0])

        from recall.web import create_app

        app = create_app("production", {**PRODUCTION_TWILIO, "DATABASE_URL": bdb.url}, database=bdb.db)
        client = app.test_client()

        def use_case(q: Query) -> None:
            with bdb.db.reader() as s:
                staff_earnings(s, q.member.id, q.start, q.end)

        def count_baseline(q: Query) -> None:
            with bdb.db.reader() as s:
                s.execute(
                    sa.text("SELECT count(*) FROM credit_entries WHERE staff_id = :sid"), {"sid": q.member.id}
                ).scalar_one()

        def pk_baseline(q: Query) -> None:
            with bdb.db.reader() as s:
                s.execute(
                    sa.text("SELECT id, staff_id, kind, amount_cents, local_day FROM credit_entries WHERE id = :id"),
                    {"id": q.entry_id},
                ).one()

        def test_client(q: Query) -> None:
            resp = client.get(q.path, headers=q.headers)
            if resp.status_code != 200:
                raise SystemExit(f"GET {q.path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")

        def test_client_ready(_q: Query) -> None:
            assert client.get("/readyz").status_code == 200

        with running_server(watchdog, "recall", bdb.url, threads=8, max_seconds=args.timeout) as server:
            http = KeepAliveClient(server.port)

            def real_server(q: Query) -> None:
                status, body = http.get(q.path, q.headers)
                if status != 200:
                    raise SystemExit(f"GET {q.path} over HTTP: {status} {body[:300]!r}")

            def real_server_ready(_q: Query) -> None:
                assert http.get("/readyz", {})[0] == 200

            paths: dict[str, Callable[[Query], None]] = {
                "staff_earnings() use case": use_case,
                "baseline: count(*) by staff_id": count_baseline,
                "baseline: primary-key lookup": pk_baseline,
                "GET /earnings/me (test client)": test_client,
                "GET /readyz (test client)": test_client_ready,
                "GET /earnings/me (waitress)": real_server,
                "GET /readyz (waitress)": real_server_ready,
            }
            results: dict[str, dict[str, Latencies]] = {}
            deadline = time.monotonic() + args.max_seconds
            for label, queries in (("current month", current), ("random past month", past)):
                for fn in paths.values():  # warm-up, unmeasured
                    for q in queries[: min(20, len(queries))]:
                        fn(q)
                lat = {name: Latencies() for name in paths}
                for q in queries:
                    if time.monotonic() > deadline:
                        print(
                            f"  (stopped by --max-seconds after {len(lat['staff_earnings() use case'].seconds)} "
                            f"queries)"
                        )
                        break
                    for name, fn in paths.items():
                        t = time.perf_counter()
                        fn(q)
                        lat[name].seconds.append(time.perf_counter() - t)
                results[label] = lat
            http.close()

        print(f"machine after: {machine_note()}")
        print()
        met = True
        for label, lat in results.items():
            print(f"{label}  ({len(lat['staff_earnings() use case'].seconds)} queries, random staff, sequential, ms)")
            print(f"  {'path':34s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}")
            for name, series in lat.items():
                s = series.summary()
                print(
                    f"  {name:34s} {fmt_ms(s['p50_ms'])} {fmt_ms(s['p95_ms'])} {fmt_ms(s['p99_ms'])} "
                    f"{fmt_ms(s['max_ms'])}"
                )
            uc = lat["staff_earnings() use case"].summary()
            cnt = lat["baseline: count(*) by staff_id"].summary()
            pk = lat["baseline: primary-key lookup"].summary()
            tc = lat["GET /earnings/me (test client)"].summary()
            tr = lat["GET /readyz (test client)"].summary()
            ws = lat["GET /earnings/me (waitress)"].summary()
            wr = lat["GET /readyz (waitress)"].summary()
            print(
                f"  ratios (p50): use case / count(*) {uc['p50_ms'] / cnt['p50_ms']:.2f}x, "
                f"use case / pk lookup {uc['p50_ms'] / pk['p50_ms']:.1f}x, "
                f"earnings / readyz over test client {tc['p50_ms'] / tr['p50_ms']:.1f}x, "
                f"over waitress {ws['p50_ms'] / wr['p50_ms']:.1f}x"
            )
            worst = max(uc["p95_ms"], tc["p95_ms"], ws["p95_ms"])
            ok = worst <= TARGET_P95_MS
            met &= ok
            print(f"  target p95 <= {TARGET_P95_MS:.0f} ms: {'MET' if ok else 'NOT MET'} (worst p95 {worst:.2f} ms)")
        return 0 if met else 1
    finally:
        bdb.close()


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000, help="credit entries to build (default %(default)s)")
    parser.add_argument("--staff", type=int, default=200, help="earning staff members (default %(default)s)")
    parser.add_argument("--clinics", type=int, default=8, help="clinics in the chain (default %(default)s)")
    parser.add_argument("--months", type=int, default=24, help="months of history (default %(default)s)")
    parser.add_argument("--patients-per-clinic", type=int, default=2500)
    parser.add_argument("--queries", type=int, default=500, help="queries per range kind (default %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time cap for the measuring phase")
    parser.add_argument("--analyze-sqlite", action="store_true", help="run ANALYZE on SQLite after the load")
    parser.add_argument("--no-explain", dest="explain", action="store_false", help="skip printing query plans")
    parser.add_argument("--allow-existing", action="store_true", help="build even if the ledger is not empty")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.months < 2 or args.staff < 1 or args.clinics < 1 or args.entries < 1000:
        parser.error("need --months >= 2, --staff >= 1, --clinics >= 1, --entries >= 1000")
    watchdog = Watchdog(args.timeout)
    try:
        return run(args, watchdog)
    finally:
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
