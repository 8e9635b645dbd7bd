"""Claiming the next recall task under load: latency, claims/s and duplicates, against baselines.

    .venv/bin/python bench/bench_claim.py                       # fresh SQLite file
    .venv/bin/python bench/bench_claim.py --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset

A clinic calling the whole day, one operator (with a token) per claimer, and ``--tasks``
(100,000) open due tasks, bulk-loaded. ``--concurrency`` (32) claimers loop: claim, then close
the task by logging a declined attempt (so the queue shrinks as with real work); only the
claim is timed, the loop rate is reported too. Two paths, each after its baseline at the same
concurrency in the same run:

* use case: threads calling ``recall.queue.claim_next`` with their own sessions (one engine,
  pool >= claimers, as in a web process); baseline: a plain single-row UPDATE by primary key
  (each thread its own row of ``bench_scratch``) and COMMIT through the same session machinery;
* HTTP: ``POST /api/v1/recall-queue/claim`` against the real app in a subprocess, one keep-alive
  ``requests.Session`` per claimer; baseline: ``GET /readyz`` (the stack plus SELECT 1) on the
  same server. The server is gunicorn from ``config/gunicorn.conf.py`` with one worker process per
  core (``--server-workers``), as production runs it; ``--server waitress`` serves it from one
  process instead (the figures before 2026-12-07).

Every claimed id must be unique across all claimers and phases: the duplicate count is
printed (and makes the exit code 1). Targets (PostgreSQL): p95 <= 25 ms at the use case,
<= 60 ms through HTTP.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # measure the recall next to this script, here and in the server

from _claim_queue import (  # noqa: E402
    QueueWorld,
    Run,
    http_baseline,
    http_claim,
    run_phase,
    use_case_baseline,
    use_case_claim,
)
from _common import (  # noqa: E402
    BenchDatabase,
    Watchdog,
    bench_parser,
    fmt_ms,
    machine_note,
    open_database,
)
from _gunicorn import add_server_args, describe_server, serving  # noqa: E402
from _server import SCRATCH, scratch_table  # noqa: E402

from recall.common.db import Database  # noqa: E402
from recall.queue.attempts import ContactAttempt  # noqa: E402
from recall.queue.claim_statements import candidates, claim_clinic  # noqa: E402 - the statement claim_next sends

TARGET_P95_MS = {"use case": 25.0, "HTTP": 60.0}


def explain(bdb: BenchDatabase, world: QueueWorld) -> None:
    """The plans of the two candidate queries claim_next sends (callbacks reserved for me, then the queue)."""
    db = bdb.db
    with db.writer() as s:
        clinic = claim_clinic(s, world.clinic_id)
        me = world.operators[0].actor.staff_id
        for reserved_only in (True, False):
            stmt = candidates(s, clinic, me, world.clock.now(), reserved_only=reserved_only, surge=False)
            sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = s.execute(sa.text(prefix + sql)).all()
            t0 = time.perf_counter()
            for _ in range(5):
                s.execute(sa.text(sql)).all()
            took = 1000 * (time.perf_counter() - t0) / 5
            print(
                f"  candidates ({'reserved callbacks' if reserved_only else 'the queue'}), "
                f"{took:.2f} ms per execution with literal values:"
            )
            for row in rows:
                line = row[0] if db.dialect == "postgresql" else f"{row[3]}"
                print(f"    {line[:150]}{'...' if len(line) > 150 else ''}")
        s.rollback()


def scratch_rows(db: Database, n: int) -> list[int]:
    SCRATCH.create_all(db.engine)  # the baseline's table (also bench_checkout's); recall's schema is Alembic's
    with db.writer() as s:
        ids = [
            s.execute(
                scratch_table.insert()
                .values(payload="claim baseline", created_at=datetime.now(UTC))
                .returning(scratch_table.c.id)
            ).scalar_one()
            for _ in range(n)
        ]
        s.commit()
    return ids


def show(path: str, run: Run, concurrency: int) -> dict[str, float]:
    lat = run.latencies.summary()
    share = f"{100 * run.timed_share:4.0f}%" if run.name.startswith("claim") else "    -"
    cpu = 1000 * run.cpu_seconds / run.loops if run.loops else float("nan")
    print(
        f"{path:8s} {run.name:24s} {run.loops:5d} {run.rate:7.1f}/s {share}  p50 {fmt_ms(lat['p50_ms'])}  "
        f"p95 {fmt_ms(lat['p95_ms'])}  p99 {fmt_ms(lat['p99_ms'])}  max {fmt_ms(lat['max_ms'])}  "
        f"{cpu:6.2f} ms CPU/loop  {len(run.errors)} err {run.empty} empty  [c={concurrency}, "
        f"{run.wall_seconds:.1f} s{', capped by --max-seconds' if run.stopped_by_time else ''}]"
    )
    for sample in sorted(set(run.errors))[:3]:
        print(f"           error: {sample}")
    return lat


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--tasks", type=int, default=100_000, help="open due tasks loaded (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="claimers (default %(default)s)")
    parser.add_argument(
        "--claims", type=int, default=3000, help="measured loops per phase, all claimers together (default %(default)s)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured claim loops before each path")
    parser.add_argument(
        "--max-seconds", type=float, default=40, help="time cap per measured phase (default %(default)s; warm-ups: 15)"
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="each claimer pauses about this long after each loop (default 0: back to back, which "
        "saturates the machine, so latency is mostly queueing)",
    )
    add_server_args(parser, default="gunicorn")
    parser.add_argument("--no-explain", action="store_true", help="skip the candidate queries' plans")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    watchdog = Watchdog(args.timeout)
    rng = random.Random(args.seed)
    c = args.concurrency
    t_setup = time.perf_counter()
    bdb = open_database(args.database_url, reset=args.reset)
    claimers_db = Database(bdb.url, pool_size=c, max_overflow=4)
    try:
        world = QueueWorld(bdb, c)
        world.load_tasks(args.tasks, rng)
        settled = world.settle()
        rows = scratch_rows(bdb.db, c)
        print(f"database: {bdb.describe()}   setup {time.perf_counter() - t_setup:.1f} s ({settled})")
        print(f"machine: {machine_note()}")
        print(
            f"queue: {world.open_due()} open due tasks; {c} claimers; {args.claims} measured loops per phase "
            f"after {args.warmup} warm-up; think time {args.think_ms:.0f} ms; server: {describe_server(args)}"
        )
        if not args.no_explain:
            explain(bdb, world)

        phase = {"concurrency": c, "max_seconds": args.max_seconds, "think_seconds": args.think_ms / 1000}
        warmup = {"concurrency": c, "max_seconds": min(15.0, args.max_seconds)}
        runs: list[tuple[str, Run]] = []
        claimed: list[int] = []
        warm = run_phase("claim warm-up", use_case_claim(claimers_db, world), count=args.warmup, claims=True, **warmup)
        claimed += warm.claimed
        baseline = use_case_baseline(claimers_db, scratch_table, rows)
        runs.append(
            ("use case", run_phase("baseline: UPDATE by pk", baseline, count=args.claims, claims=False, **phase))
        )
        runs.append(
            (
                "use case",
                run_phase("claim_next", use_case_claim(claimers_db, world), count=args.claims, claims=True, **phase),
            )
        )
        claimed += runs[-1][1].claimed
        with serving(args, "recall", bdb.url, watchdog, extra_env={"PYTHONPATH": str(HERE.parent)}) as server:
            warm = run_phase("claim warm-up", http_claim(server.port, world), count=args.warmup, claims=True, **warmup)
            claimed += warm.claimed
            runs.append(
                (
                    "HTTP",
                    run_phase(
                        "baseline: GET /readyz", http_baseline(server.port), count=args.claims, claims=False, **phase
                    ),
                )
            )
            cpu0 = server.cpu_seconds()
            runs.append(
                (
                    "HTTP",
                    run_phase(
                        "claim: POST /claim", http_claim(server.port, world), count=args.claims, claims=True, **phase
                    ),
                )
            )
            server_cpu = server.cpu_seconds() - cpu0
            claimed += runs[-1][1].claimed

        print()
        print(
            f"{'path':8s} {'phase':24s} {'loops':>5s} {'rate':>9s} claim  latency of the timed call (ms); "
            "this process's CPU per loop"
        )
        figures = {(path, run.name.split(":")[0]): show(path, run, c) for path, run in runs}
        http_claims = runs[-1][1]
        if http_claims.loops:
            print(
                f"server CPU during the HTTP claim phase: {1000 * server_cpu / http_claims.loops:.1f} ms per loop "
                "(claim + attempt)"
            )
        print(
            "('rate': loops/s; a claim loop is one claim plus one declined attempt, so claims/s = loops/s; "
            "'claim': the claim's share of the loop's time)"
        )
        for path in ("use case", "HTTP"):
            base, claim = figures[(path, "baseline")], figures[(path, "claim" if path == "HTTP" else "claim_next")]
            base_run = next(r for p, r in runs if p == path and r.name.startswith("baseline"))
            claim_run = next(r for p, r in runs if p == path and r.name.startswith("claim"))
            print(
                f"{path}: claim/baseline  p50 {claim['p50_ms'] / base['p50_ms']:.1f}x  "
                f"p95 {claim['p95_ms'] / base['p95_ms']:.1f}x  rate {claim_run.rate / base_run.rate:.2f}"
            )

        duplicates = len(claimed) - len(set(claimed))
        with bdb.db.reader() as s:
            attempts = (
                s.scalar(
                    sa.select(sa.func.count())
                    .select_from(ContactAttempt)
                    .where(ContactAttempt.clinic_id == world.clinic_id)
                )
                or 0
            )
        print(
            f"duplicates: {duplicates} of {len(claimed)} claimed ids (all phases); "
            f"{attempts} attempts logged in the bench clinic (expected {len(claimed)})"
        )
        verdicts = []
        for path, name in (("use case", "claim_next"), ("HTTP", "claim")):
            p95, target = figures[(path, name)]["p95_ms"], TARGET_P95_MS[path]
            verdicts.append(f"{path} p95 {p95:.1f} ms <= {target:.0f} ms: {'MET' if p95 <= target else 'NOT MET'}")
        print(f"targets{' (set for PostgreSQL)' if bdb.dialect != 'postgresql' else ''}: " + "; ".join(verdicts))
        print(f"machine after: {machine_note()}")
        errors = sum(len(r.errors) for _, r in runs)
        return 1 if duplicates or errors or attempts != len(claimed) else 0
    finally:
        claimers_db.dispose()
        bdb.close()
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
