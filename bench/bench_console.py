"""The console's two heaviest pages against the JSON API doing the same work, in the same run.

    .venv/bin/python bench/bench_console.py                      # fresh SQLite: 100,000 tasks, 1,000,000 entries
    .venv/bin/python bench/bench_console.py --tasks 10000 --entries 100000 --queries 50   # a quick run
    .venv/bin/python bench/bench_console.py --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset

One clinic holds ``--tasks`` open, due recall tasks (bulk-loaded as bench_claim.py does) and a credit ledger of
``--entries`` entries for ``--staff`` earning staff members over ``--months`` months (as bench_earnings.py
builds it). Then, round-robin per query so every path sees the same cache state, it measures server time (the
Flask test client, in process: the whole request, routing, session, CSRF, use cases, templates; no socket):

* the operator's next patient: ``POST /console/desk/next`` as console.js sends it (the card fragment with the
  earnings panel, the task's worth and the booking form) against the API calls that give the same facts:
  ``POST /api/v1/recall-queue/claim``, ``GET /api/v1/earnings/me``, ``/providers``, ``/services``,
  ``/clinic/pay-plan`` and ``/recall-tasks?assignee_id=`` (also shown: claim + earnings alone, and the claim
  alone); the lease is released after each, unmeasured, so every claim finds a full queue;
* the manager's dashboard: ``GET /console/office/`` and every chart or fragment the page loads (found in its
  HTML, as a browser would) against ``GET /api/v1/recall-queue/{health,kpis,staffing,surge}`` and
  ``GET /api/v1/earnings/team``.

Reported: p50/p95/p99 per path and the ratio of the page's p95 to the API's; the issue's target is 1.5x.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _claim_queue import Operator, QueueWorld
from _common import PRODUCTION_TWILIO, Latencies, Watchdog, bench_parser, fmt_ms, machine_note, open_database
from _ledger import LedgerBuilder

from recall.clinic.signin import SessionVia, open_session
from recall.clinic.staff import Staff, issue_token
from recall.common.actors import Actor, Role
from recall.queue.claims import release_lease
from recall.web import create_app
from recall.web.console.pages import SESSION_KEY

TARGET_RATIO = 1.5
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
LOADED = re.compile(r'(?:<img[^>]+src|<object[^>]+data|data-refresh-url|data-src)="(/console/[^"]+)"')
# What else the desk shows besides the claim and the earnings: the booking form's providers and services, the
# plan that prices the task's worth, and the operator's own tasks (the callbacks reserved for them).
SAME_FACTS = [
    "/api/v1/providers",
    "/api/v1/services",
    "/api/v1/clinic/pay-plan",
    "/api/v1/recall-tasks?assignee_id={staff_id}",
]
DASHBOARD_API = [
    "/api/v1/recall-queue/health",
    "/api/v1/recall-queue/kpis",
    "/api/v1/recall-queue/staffing",
    "/api/v1/recall-queue/surge",
    "/api/v1/earnings/team",
]


def console_client(app, bdb, clock, staff_id: int):  # type: ignore[no-untyped-def]
    """A test client signed in to the console as ``staff_id`` (a launch-like session: no password hashing)."""
    client = app.test_client()
    with bdb.db.writer() as s:
        signed = open_session(s, clock, s.get_one(Staff, staff_id), SessionVia.LAUNCH)
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = signed.secret
    return client


def csrf_of(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    if page.status_code != 200 or not found:
        raise SystemExit(f"GET {path}: {page.status_code}, no CSRF token")
    return found.group(1)


def expect(response, what: str, *needles: str) -> str:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    if response.status_code != 200 or not all(n in body for n in needles):
        raise SystemExit(f"{what}: {response.status_code} {body[:400]}")
    return body


def run(args: argparse.Namespace, watchdog: Watchdog) -> int:
    rng = random.Random(args.seed)
    bdb = open_database(args.database_url, reset=args.reset)
    try:
        print(f"database: {bdb.describe()}")
        print(f"machine: {machine_note()}")
        t0 = time.perf_counter()
        builder = LedgerBuilder(bdb, args, rng)
        builder.setup()
        builder.load()
        clinic_id = builder.clinics[0].id
        world = QueueWorld(bdb, 0, clinic_id=clinic_id)
        world.load_tasks(args.tasks, rng)
        analyzed = world.settle()
        operators = [
            Operator(Actor(m.id, m.clinic_id, Role.OPERATOR), m.token)
            for m in builder.members
            if m.role is Role.OPERATOR
        ]
        with bdb.db.reader() as s:
            manager_id = s.scalar(
                sa.select(Staff.id).where(Staff.clinic_id == clinic_id, Staff.role == Role.MANAGER).limit(1)
            )
        print(
            f"clinic {clinic_id}: {world.open_due():,} open tasks, {builder.entries:,} credit entries for "
            f"{len(builder.members)} earning staff ({len(operators)} operators) over {args.months} months; "
            f"built in {time.perf_counter() - t0:.1f} s ({analyzed})"
        )

        app = create_app("production", {**PRODUCTION_TWILIO, "DATABASE_URL": bdb.url}, database=bdb.db)
        clock = builder.clock
        api = app.test_client()
        desks = [console_client(app, bdb, clock, op.actor.staff_id) for op in operators]
        tokens = [csrf_of(c, "/console/desk/") for c in desks]
        office = console_client(app, bdb, clock, manager_id)
        with bdb.db.writer() as s:
            manager_token = issue_token(s, clock, s.get_one(Staff, manager_id), "bench").secret
        dashboard_html = expect(office.get("/console/office/"), "GET /console/office/")
        loaded = sorted(set(LOADED.findall(dashboard_html)))
        print(f"the dashboard loads {len(loaded)} charts and fragments: {', '.join(loaded) or 'none'}")

        held: list[int] = []

        def release(i: int) -> None:
            op = operators[i % len(operators)]
            with bdb.db.writer() as s:
                for task_id in held:
                    release_lease(s, clock, op.actor, task_id)
            held.clear()

        def page_next(i: int) -> None:
            k = i % len(operators)
            response = desks[k].post(
                "/console/desk/next",
                data={"csrf_token": tokens[k]},
                headers={"X-Requested-With": "fetch", "X-CSRFToken": tokens[k]},
            )
            body = expect(response, "POST /console/desk/next", "tel:")
            found = re.search(r"/console/desk/tasks/(\d+)/release", body)
            if found:
                held.append(int(found.group(1)))

        def bearer(i: int) -> dict[str, str]:
            return {"Authorization": f"Bearer {operators[i % len(operators)].token}"}

        def api_claim(i: int) -> None:
            response = api.post("/api/v1/recall-queue/claim", headers=bearer(i))
            if response.status_code != 200:
                raise SystemExit(f"POST /recall-queue/claim: {response.status_code} {response.get_data()[:300]!r}")
            task = (response.get_json() or {}).get("task") or {}
            if task.get("id"):
                held.append(int(task["id"]))

        def api_next(i: int) -> None:
            api_claim(i)
            expect(api.get("/api/v1/earnings/me", headers=bearer(i)), "GET /earnings/me")

        def api_same_facts(i: int) -> None:
            api_next(i)
            me = operators[i % len(operators)].actor.staff_id
            for path in SAME_FACTS:
                expect(api.get(path.format(staff_id=me), headers=bearer(i)), f"GET {path}")

        def page_dashboard(_i: int) -> None:
            expect(office.get("/console/office/"), "GET /console/office/")
            for path in loaded:
                response = office.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path}: {response.status_code}")

        def api_dashboard(_i: int) -> None:
            for path in DASHBOARD_API:
                expect(api.get(path, headers={"Authorization": f"Bearer {manager_token}"}), f"GET {path}")

        suites: dict[str, dict[str, Callable[[int], None]]] = {
            "operator: next patient": {
                "page POST /console/desk/next": page_next,
                "API: the same facts (6 calls)": api_same_facts,
                "API claim + earnings/me": api_next,
                "API claim alone": api_claim,
            },
            "manager: dashboard": {
                "page GET /console/office/ + charts": page_dashboard,
                "API health+kpis+staffing+surge+team": api_dashboard,
            },
        }
        if args.only:
            suites = {label: paths for label, paths in suites.items() if label.startswith(args.only)}
        results: dict[str, dict[str, Latencies]] = {}
        for label, paths in suites.items():
            for fn in paths.values():  # warm-up, unmeasured
                for i in range(min(10, args.queries)):
                    fn(i)
                    release(i)
            lat = {name: Latencies() for name in paths}
            deadline = time.monotonic() + args.max_seconds
            for i in range(args.queries):
                if time.monotonic() > deadline:
                    print(f"  ({label}: stopped by --max-seconds after {i} rounds)")
                    break
                for name, fn in paths.items():
                    t = time.perf_counter()
                    fn(i)
                    lat[name].seconds.append(time.perf_counter() - t)
                    release(i)
            results[label] = lat

        print(f"machine after: {machine_note()}")
        met = True
        for label, lat in results.items():
            names = list(lat)
            print(f"\n{label}  ({len(lat[names[0]].seconds)} rounds, sequential, server time in ms)")
            print(f"  {'path':38s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}")
            for name, series in lat.items():
                s = series.summary()
                figures = " ".join(fmt_ms(s[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
                print(f"  {name:38s} {figures}")
            ratio = lat[names[0]].summary()["p95_ms"] / lat[names[1]].summary()["p95_ms"]
            verdict = "MET" if ratio <= TARGET_RATIO else "MISSED"
            met = met and ratio <= TARGET_RATIO
            print(f"  p95 ratio page / API doing the same work: {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})")
        return 0 if met else 1
    finally:
        bdb.close()


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--tasks", type=int, default=100_000, help="open due recall tasks (default %(default)s)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="credit entries (default %(default)s)")
    parser.add_argument("--staff", type=int, default=30, help="earning staff members (default %(default)s)")
    parser.add_argument("--months", type=int, default=12, help="months of ledger history (default %(default)s)")
    parser.add_argument("--patients-per-clinic", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200, help="measured rounds per suite (default %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time cap per suite's measuring")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("operator", "manager"), help="measure one of the two pages only")
    args = parser.parse_args()
    args.clinics = 1
    args.analyze_sqlite = False
    watchdog = Watchdog(args.timeout)
    try:
        return run(args, watchdog)
    finally:
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
