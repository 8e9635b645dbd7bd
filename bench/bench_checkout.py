"""Checkout throughput and latency through the HTTP API, against a bare-INSERT baseline.

    .venv/bin/python bench/bench_checkout.py                       # fresh SQLite file
    .venv/bin/python bench/bench_checkout.py --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset

Two servers (127.0.0.1, a free port), one after the other, on the same database and
the same settings: waitress with ``--server-threads`` (8) in one process, or with
``--server gunicorn`` gunicorn from ``config/gunicorn.conf.py`` with ``--server-workers``
processes (default: one per core) sharing those threads:

* bare:   POST /bare inserts one row into a scratch table and commits
          (recall.db.Database, so the same engine settings as the service);
* recall: POST /api/v1/visits/<id>/checkout, the real app from create_app(),
          a mix of "undecided" (opens a recall task) and "booked" (books in
          person and appends a pending credit entry) bodies.

The load generator is this process: ``--concurrency`` threads, one keep-alive
HTTP/1.1 connection each, every request sent once. Reported: requests/s,
p50/p95/p99 latency, CPU seconds per request in the server and the client,
and the ratio recall/bare throughput (target from issue 16: >= 0.45).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PRODUCTION_TWILIO,
    BenchDatabase,
    LoadResult,
    Request,
    Watchdog,
    bench_parser,
    fmt_ms,
    machine_note,
    open_database,
    run_load,
)
from _gunicorn import add_server_args, describe_server, serving
from _server import SCRATCH

from recall.clinic.catalog import create_provider, create_service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import create_staff, issue_token
from recall.common.actors import Actor, Role
from recall.common.clock import SystemClock
from recall.visits.visits import Visit, VisitStatus

UTC = UTC
TARGET_RATIO = 0.45  # issue 16, part 4


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class World:
    """One clinic: a front-desk member per client thread, a provider, a service, and checked-in visits."""

    def __init__(self, bdb: BenchDatabase, n_desk: int):
        self.db = bdb.db
        self.clock = SystemClock()
        with self.db.writer() as s:
            clinic = create_clinic(
                s,
                self.clock,
                ClinicInput(
                    name=f"Bench clinic {time.time_ns()}",
                    timezone="Europe/Stockholm",
                    phone_region="SE",
                    currency="SEK",
                ),
            )
        self.clinic_id = clinic.id
        self.desk: list[tuple[int, str]] = []
        for i in range(n_desk):
            with self.db.writer() as s:
                member = create_staff(s, self.clock, Actor.system(clinic.id), name=f"Desk {i}", role=Role.FRONTDESK)
                self.desk.append((member.id, issue_token(s, self.clock, member, "bench").secret))
        with self.db.writer() as s:
            self.provider_id = create_provider(
                s, self.clock, Actor.system(clinic.id), {"name": "Dr. Bench", "specialty": "general practice"}
            ).id
        with self.db.writer() as s:
            self.service_id = create_service(
                s,
                self.clock,
                Actor.system(clinic.id),
                {"name": "Check-up", "duration_minutes": 30, "follow_up_interval_days": 30},
            ).id

    def checked_in_visits(self, n: int) -> list[int]:
        """``n`` checked-in visits, each for its own patient (so booked follow-ups never overlap).

        Bulk-inserted for speed; the rows are what ``patients.create_patient`` and
        ``visits.check_in`` would write.
        """
        now = self.clock.now()
        tag = time.time_ns() % 10**7
        with self.db.writer() as s:
            first = s.scalar(sa.select(sa.func.coalesce(sa.func.max(Patient.id), 0))) + 1
            s.execute(
                sa.insert(Patient.__table__),
                [
                    {
                        "clinic_id": self.clinic_id,
                        "full_name": f"Patient {tag}-{i}",
                        "phone_e164": f"+4670{(tag + i) % 10**7:07d}",
                        "language": Language.SV,
                        "timezone": None,
                        "date_of_birth": None,
                        "external_ref": None,
                        "consent_sms": True,
                        "consent_voice": True,
                        "consent_call": True,
                        "opted_out": False,
                        "opted_out_at": None,
                        "phone_invalid": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(n)
                ],
            )
            patient_ids = list(
                s.scalars(
                    sa.select(Patient.id)
                    .where(Patient.clinic_id == self.clinic_id, Patient.id >= first)
                    .order_by(Patient.id)
                )
            )
            assert len(patient_ids) == n
            first_visit = s.scalar(sa.select(sa.func.coalesce(sa.func.max(Visit.id), 0))) + 1
            s.execute(
                sa.insert(Visit.__table__),
                [
                    {
                        "clinic_id": self.clinic_id,
                        "patient_id": pid,
                        "provider_id": self.provider_id,
                        "service_id": self.service_id,
                        "booking_id": None,
                        "status": VisitStatus.CHECKED_IN,
                        "checked_in_at": now - timedelta(minutes=20),
                        "checked_in_by_id": self.desk[i % len(self.desk)][0],
                        "checked_out_at": None,
                        "checked_out_by_id": None,
                        "follow_up": None,
                        "follow_up_date": None,
                        "follow_up_booking_id": None,
                        "follow_up_note": None,
                    }
                    for i, pid in enumerate(patient_ids)
                ],
            )
            visit_ids = list(
                s.scalars(
                    sa.select(Visit.id)
                    .where(Visit.clinic_id == self.clinic_id, Visit.id >= first_visit)
                    .order_by(Visit.id)
                )
            )
            s.commit()
        assert len(visit_ids) == n
        return visit_ids

    def checkout_requests(self, visit_ids: list[int], booked_fraction: float, rng: random.Random) -> list[Request]:
        n_booked = round(len(visit_ids) * booked_fraction)
        kinds = ["booked"] * n_booked + ["undecided"] * (len(visit_ids) - n_booked)
        rng.shuffle(kinds)
        start = (self.clock.now() + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
        out = []
        for i, (visit_id, kind) in enumerate(zip(visit_ids, kinds, strict=True)):
            body: dict = {"follow_up": kind}
            if kind == "booked":
                body["booking"] = {
                    "start_at": iso(start + timedelta(minutes=30 * (i % 16))),
                    "service_id": self.service_id,
                }
            token = self.desk[i % len(self.desk)][1]
            out.append(
                Request("POST", f"/api/v1/visits/{visit_id}/checkout", body, {"Authorization": f"Bearer {token}"})
            )
        return out


def bare_requests(n: int, rng: random.Random) -> list[Request]:
    return [Request("POST", "/bare", {"follow_up": "undecided", "n": i, "r": rng.random()}) for i in range(n)]


def in_process_checkouts(bdb: BenchDatabase, world: World, requests: list[Request], profile: bool) -> None:
    """Run a few checkouts through the Flask test client: SQL statements per checkout, and optionally cProfile."""
    from recall.web import create_app

    app = create_app("production", {**PRODUCTION_TWILIO, "DATABASE_URL": bdb.url}, database=bdb.db)
    client = app.test_client()
    counts: dict[str, list[int]] = {"booked": [], "undecided": []}
    current = [0]

    @event.listens_for(bdb.db.engine, "before_cursor_execute")
    def _count(*_a: object) -> None:
        current[0] += 1

    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU time, not wall
    t0 = time.perf_counter()
    try:
        for req in requests:
            current[0] = 0
            if profiler:
                profiler.enable()
            resp = client.open(req.path, method=req.method, json=req.body, headers=req.headers)
            if profiler:
                profiler.disable()
            if resp.status_code != 200:
                raise SystemExit(f"in-process checkout failed: {resp.status_code} {resp.get_data(as_text=True)}")
            counts[req.body["follow_up"]].append(current[0])
    finally:
        event.remove(bdb.db.engine, "before_cursor_execute", _count)
    elapsed = time.perf_counter() - t0
    print(
        f"in-process (Flask test client, 1 thread): {len(requests)} checkouts, "
        f"{1000 * elapsed / len(requests):.2f} ms each on average"
    )
    for kind, c in counts.items():
        if c:
            print(f"  SQL statements per '{kind}' checkout (incl. BEGIN on SQLite): {min(c)}..{max(c)}")
    if profiler:
        stats = pstats.Stats(profiler)
        print_by_package(stats)
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


def print_by_package(stats: pstats.Stats) -> None:
    """Own (tottime) profile time summed per top-level package: where the CPU of a checkout goes."""
    totals: dict[str, float] = {}
    raw_stats = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw_stats.items():
        m = re.search(r"site-packages/([^/]+)", filename)
        if m:
            key = m.group(1).removesuffix(".py")
        elif "/recall/" in filename:
            key = "recall (" + filename.rsplit("/recall/", 1)[1] + ")"
        elif filename.startswith("~") or filename.startswith("<"):
            key = "builtins"
        else:
            key = "stdlib"
        totals[key] = totals.get(key, 0.0) + tottime
    grand = sum(totals.values())
    print("  own CPU time by package (cProfile tottime, CPU clock):")
    for key, t in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
        print(f"    {key:40s} {100 * t / grand:5.1f}%")


def show(name: str, r: LoadResult, concurrency: int) -> None:
    lat = r.latencies.summary()
    srv = 1000 * r.server_cpu_seconds / r.ok if r.ok else float("nan")
    cli = 1000 * r.client_cpu_seconds / r.ok if r.ok else float("nan")
    print(
        f"{name:7s} {r.ok:6d} ok {r.errors:4d} err  {r.throughput:8.1f} req/s  p50 {fmt_ms(lat['p50_ms'])} ms  "
        f"p95 {fmt_ms(lat['p95_ms'])} ms  p99 {fmt_ms(lat['p99_ms'])} ms  max {fmt_ms(lat['max_ms'])} ms  "
        f"server CPU {srv:6.2f} ms/req ({100 * r.server_cpu_seconds / r.wall_seconds:4.0f}% of a core)  "
        f"client CPU {cli:5.2f} ms/req  [c={concurrency}, {r.wall_seconds:.1f} s"
        f"{', stopped by --max-seconds' if r.stopped_by_time else ''}]"
    )
    for sample in r.error_samples:
        print(f"        error: {sample}")


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per app (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per app first")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default %(default)s)")
    add_server_args(parser, default="waitress")
    parser.add_argument(
        "--booked-fraction",
        type=float,
        default=0.5,
        help="share of checkouts with follow_up 'booked'; the rest 'undecided' (default %(default)s)",
    )
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per measured phase")
    parser.add_argument("--config", default="production", help="config name passed to create_app")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile (CPU time) 200 in-process checkouts (Flask test client) and print the top entries",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 0 <= args.booked_fraction <= 1:
        parser.error("--booked-fraction must be between 0 and 1")

    watchdog = Watchdog(args.timeout)
    rng = random.Random(args.seed)
    t_setup = time.perf_counter()
    bdb = open_database(args.database_url, reset=args.reset)
    try:
        SCRATCH.create_all(bdb.db.engine)  # the baseline's table; recall's own schema came from Alembic
        world = World(bdb, n_desk=args.concurrency)
        n_profile = 200 if args.profile else 20
        visits = world.checked_in_visits(n_profile + 2 * args.warmup + args.requests)
        sample = world.checkout_requests(visits[:n_profile], args.booked_fraction, rng)
        warm = world.checkout_requests(visits[n_profile : n_profile + args.warmup], args.booked_fraction, rng)
        measured = world.checkout_requests(
            visits[n_profile + args.warmup : n_profile + args.warmup + args.requests], args.booked_fraction, rng
        )
        print(f"database: {bdb.describe()}   setup {time.perf_counter() - t_setup:.1f} s")
        print(f"machine: {machine_note()}")
        print(
            f"load: {args.concurrency} client threads (this process, keep-alive http.client) -> "
            f"{describe_server(args)} on 127.0.0.1; {args.requests} measured requests "
            f"per app after {args.warmup} warm-up; booked fraction {args.booked_fraction}"
        )
        in_process_checkouts(bdb, world, sample, args.profile)

        # The request log at INFO under either server, as production writes it.
        logs = {"LOG_LEVEL": "INFO"}
        with serving(args, "bare", bdb.url, watchdog, config_name=args.config, extra_env=logs) as server:
            port = server.port
            run_load(port, bare_requests(args.warmup, rng), concurrency=args.concurrency, max_seconds=args.max_seconds)
            bare = run_load(
                port,
                bare_requests(args.requests, rng),
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
                server=server,
            )
        with serving(args, "recall", bdb.url, watchdog, config_name=args.config, extra_env=logs) as server:
            port = server.port
            warm_result = run_load(port, warm, concurrency=args.concurrency, max_seconds=args.max_seconds)
            if warm_result.errors:
                print(f"warm-up errors: {warm_result.errors}; first: {warm_result.error_samples[:2]}")
            recall = run_load(port, measured, concurrency=args.concurrency, max_seconds=args.max_seconds, server=server)

        print()
        show("bare", bare, args.concurrency)
        show("recall", recall, args.concurrency)
        ratio = recall.throughput / bare.throughput
        verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
        print(f"ratio recall/bare throughput: {ratio:.3f}   (target >= {TARGET_RATIO}: {verdict})")
        p50_ratio = recall.latencies.summary()["p50_ms"] / bare.latencies.summary()["p50_ms"]
        print(f"latency ratio p50 recall/bare: {p50_ratio:.1f}x")

        # The checkouts really happened: visits checked out, tasks opened, bookings and credit written.
        with bdb.db.reader() as s:
            done = s.scalar(
                sa.select(sa.func.count())
                .select_from(Visit)
                .where(Visit.clinic_id == world.clinic_id, Visit.status == VisitStatus.CHECKED_OUT)
            )
            expected = len(sample) + warm_result.ok + recall.ok
            print(f"machine after: {machine_note()}")
        print(f"check: {done} visits checked out in the bench clinic (expected {expected})")
        errors = bare.errors + recall.errors
        return 1 if errors or done != expected else 0
    finally:
        bdb.close()
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
