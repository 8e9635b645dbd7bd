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
import bisect
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BenchDatabase, KeepAliveClient, Latencies, Watchdog, add_database_args, fmt_ms, machine_note, open_database,
    running_server,
)

from recall.actors import Role  # noqa: E402
from recall.bookings import Booking, BookingStatus, Channel, Source  # noqa: E402
from recall.catalog import create_provider, create_service  # noqa: E402
from recall.clinics import ClinicInput, create_clinic  # noqa: E402
from recall.clock import SystemClock  # noqa: E402
from recall.credit import CreditEntry, CreditKind  # noqa: E402
from recall.db import UTCDateTime  # noqa: E402
from recall.earnings import staff_earnings  # noqa: E402
from recall.patients import Language, Patient  # noqa: E402
from recall.staff import create_staff, issue_token  # noqa: E402
from recall.timeutil import local_day, month_range  # noqa: E402

UTC = timezone.utc
TARGET_P95_MS = 50.0
ZONES = ["Europe/Stockholm", "Europe/Warsaw", "Europe/London", "America/New_York", "Europe/Helsinki",
         "Asia/Shanghai", "America/Chicago", "Europe/Berlin"]
BASE_CENTS, RECALL_CENTS = 1000, 1500  # the default plan: 1000, recall multiplier 1.5
CHUNK = 20_000  # bookings per bulk-insert batch


# --------------------------------------------------------------------------- bulk loading


class BulkTable:
    """Rows for one table in SQLAlchemy's storage form, written by executemany (SQLite) or COPY (PostgreSQL).

    Values go through fast converters for the few types used here; the first row of
    every batch is also converted by SQLAlchemy's own bind processors and must match,
    so the stored form is exactly what the ORM would write.
    """

    def __init__(self, engine: sa.Engine, table: sa.Table, columns: list[str]):
        self.table, self.columns, self.engine = table, columns, engine
        dialect = engine.dialect
        self.procs = [(i, p) for i, name in enumerate(columns)
                      if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
        self.fast = [(i, f) for i, name in enumerate(columns)
                     if (f := _fast_converter(table.c[name].type, dialect.name)) is not None]

    def _generic(self, row: tuple) -> tuple:
        values = list(row)
        for i, proc in self.procs:
            if values[i] is not None:
                values[i] = proc(values[i])
        return tuple(values)

    def _stored(self, rows: list[tuple]) -> Iterator[tuple]:
        if rows and (got := self._convert(rows[0])) != (want := self._generic(rows[0])):
            raise AssertionError(f"{self.table.name}: bulk form {got} differs from SQLAlchemy's {want}")
        for row in rows:
            yield self._convert(row)

    def _convert(self, row: tuple) -> tuple:
        values = list(row)
        for i, conv in self.fast:
            if values[i] is not None:
                values[i] = conv(values[i])
        return tuple(values)

    def write(self, raw: object, rows: list[tuple]) -> None:
        """Append ``rows`` inside the caller's transaction on the DBAPI connection ``raw``."""
        cols = ", ".join(self.columns)
        if self.engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(self.columns))
            raw.executemany(f"INSERT INTO {self.table.name} ({cols}) VALUES ({marks})",  # type: ignore[attr-defined]
                            self._stored(rows))
        else:
            copy_sql = f"COPY {self.table.name} ({cols}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                for row in self._stored(rows):
                    copy.write_row(row)


def _fast_converter(type_: sa.types.TypeEngine, dialect: str) -> Callable[[object], object] | None:
    if isinstance(type_, sa.Enum):
        return lambda v: v.value  # type: ignore[attr-defined]
    if dialect != "sqlite":
        return None  # psycopg adapts aware datetimes, dates and booleans itself
    if isinstance(type_, UTCDateTime):
        # naive UTC text, always with microseconds (the values here are already UTC)
        return lambda v: v.isoformat(" ", "microseconds")[:26]  # type: ignore[attr-defined]
    if isinstance(type_, sa.Date):
        return lambda v: v.isoformat()  # type: ignore[attr-defined]
    if isinstance(type_, sa.Boolean):
        return int  # type: ignore[return-value]
    return None


BOOKING_COLS = ["id", "clinic_id", "patient_id", "provider_id", "service_id", "start_at", "end_at", "status", "channel",
                "source", "source_visit_id", "recall_task_id", "follow_up_of_visit_id", "created_by_id",
                "credited_staff_id", "credited_role", "note", "cancel_reason", "created_at", "updated_at"]
ENTRY_COLS = ["id", "clinic_id", "staff_id", "role", "booking_id", "service_id", "is_recall", "kind", "amount_cents",
              "occurred_at", "local_day"]
PATIENT_COLS = ["clinic_id", "full_name", "phone_e164", "language", "consent_sms", "consent_voice", "consent_call",
                "opted_out", "phone_invalid", "created_at", "updated_at"]


# --------------------------------------------------------------------------- the ledger


@dataclass
class Member:
    id: int
    clinic_id: int
    zone: str
    role: Role
    token: str


@dataclass
class ClinicData:
    id: int
    zone: str
    providers: list[int]
    services: list[int]
    patients: list[int]


class Expected:
    """Totals computed while generating, to check what staff_earnings() answers."""

    def __init__(self) -> None:
        # (staff, year, month) -> [booked_cents, booked_n, earned_cents, earned_n, voided_cents, voided_n,
        #                          signed_cents, signed_n]  (signed: + pending, - earned or void)
        self.months: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0] * 8)

    def add(self, staff_id: int, kind: CreditKind, cents: int, day: date) -> None:
        m = self.months[(staff_id, day.year, day.month)]
        k = {CreditKind.PENDING: 0, CreditKind.EARNED: 2, CreditKind.VOID: 4}[kind]
        m[k] += cents
        m[k + 1] += 1
        sign = 1 if kind is CreditKind.PENDING else -1
        m[6] += sign * cents
        m[7] += sign

    def check(self, staff_id: int, start: date, end: date, got: object) -> None:
        assert start.day == 1 and start.year == end.year and start.month == end.month
        m = self.months.get((staff_id, start.year, start.month), [0] * 8)
        upto = [v for (s, y, mo), v in self.months.items() if s == staff_id and (y, mo) <= (end.year, end.month)]
        pending = [sum(v[6] for v in upto), sum(v[7] for v in upto)]
        want = (m[0], m[1], m[2], m[3], m[4], m[5], pending[0], pending[1])
        have = tuple(getattr(got, f) for f in ("booked_cents", "booked_count", "earned_cents", "earned_count",
                                               "voided_cents", "voided_count", "pending_cents", "pending_count"))
        if want != have:
            raise SystemExit(f"staff_earnings({staff_id}, {start}, {end}) = {have}, expected {want}")


class LedgerBuilder:
    def __init__(self, bdb: BenchDatabase, args: argparse.Namespace, rng: random.Random):
        self.db, self.engine, self.args, self.rng = bdb.db, bdb.db.engine, args, rng
        self.clock = SystemClock()
        self.now = self.clock.now()
        self.clinics: list[ClinicData] = []
        self.members: list[Member] = []
        self.expected = Expected()
        self.entries = 0
        self.bookings = 0

    def setup(self) -> None:
        """Clinics, staff with tokens, providers, services: through the use cases. Patients: bulk."""
        a, rng = self.args, self.rng
        per_clinic = [a.staff // a.clinics + (1 if i < a.staff % a.clinics else 0) for i in range(a.clinics)]
        patients = BulkTable(self.engine, Patient.__table__, PATIENT_COLS)
        for c in range(a.clinics):
            zone = ZONES[c % len(ZONES)]
            with self.db.writer() as s:
                clinic = create_clinic(s, self.clock, ClinicInput(name=f"Bench chain {c} {time.time_ns()}",
                                                                  timezone=zone, phone_region="SE", currency="SEK"))
                create_staff(s, self.clock, clinic.id, name=f"Manager {c}", role=Role.MANAGER)
                n_desk = round(per_clinic[c] * 0.4)
                for i in range(per_clinic[c]):
                    role = Role.FRONTDESK if i < n_desk else Role.OPERATOR
                    member = create_staff(s, self.clock, clinic.id, name=f"{role.value} {c}-{i}", role=role)
                    token = issue_token(s, self.clock, member, "bench").secret
                    self.members.append(Member(member.id, clinic.id, zone, role, token))
                providers = [create_provider(s, self.clock, clinic.id, {"name": f"Dr. {c}-{i}", "specialty": "gp"}).id
                             for i in range(3)]
                services = [create_service(s, self.clock, clinic.id, {
                    "name": f"Service {i}", "duration_minutes": 30, "follow_up_interval_days": 30 * (i + 1)}).id
                    for i in range(4)]
            tag = rng.randrange(10**6)
            raw = self.engine.raw_connection()
            try:
                self._begin(raw)
                patients.write(raw.driver_connection, [
                    (clinic.id, f"Patient {c}-{i}", f"+4670{(tag + i) % 10**7:07d}", Language.SV, True, True, True,
                     False, False, self.now, self.now) for i in range(a.patients_per_clinic)])
                raw.commit()
            finally:
                raw.close()
            with self.db.reader() as s:
                ids = list(s.scalars(sa.select(Patient.id).where(Patient.clinic_id == clinic.id)))
            self.clinics.append(ClinicData(clinic.id, zone, providers, services, ids))

    def _begin(self, raw: object) -> None:
        if self.engine.dialect.name == "sqlite":
            raw.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]

    def generate(self) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """Chunks of (booking rows, entry rows) until ``--entries`` entries exist."""
        a, rng, now = self.args, self.rng, self.now
        with self.db.reader() as s:
            booking_id = (s.scalar(sa.select(sa.func.max(Booking.id))) or 0) + 1
            entry_id = (s.scalar(sa.select(sa.func.max(CreditEntry.id))) or 0) + 1
        clinics = {c.id: c for c in self.clinics}
        weights = [math.exp(rng.gauss(0, 0.45)) for _ in self.members]
        cum = list(_accumulate(weights))
        total_w = cum[-1]
        span = timedelta(days=30.44 * a.months).total_seconds()
        t_first = now.timestamp() - span
        bookings: list[tuple] = []
        entries: list[tuple] = []
        expected = self.expected
        while self.entries < a.entries:
            m = self.members[bisect.bisect_left(cum, rng.random() * total_w)]
            clinic = clinics[m.clinic_id]
            created = datetime.fromtimestamp(t_first + rng.random() * span, UTC)
            start = (created + timedelta(days=rng.randint(1, 45))).replace(
                minute=15 * rng.randrange(4), second=0, microsecond=0)
            end = start + timedelta(minutes=30)
            service_id = rng.choice(clinic.services)
            is_recall = m.role is Role.OPERATOR and rng.random() < 0.3
            cents = RECALL_CENTS if is_recall else BASE_CENTS
            channel = Channel.IN_PERSON if m.role is Role.FRONTDESK else rng.choice(
                (Channel.PHONE, Channel.PHONE, Channel.CHAT, Channel.SMS))
            r = rng.random()
            outcome: tuple[BookingStatus, CreditKind, datetime, date] | None = None
            if start < now - timedelta(hours=2):
                if r < 0.80:
                    at = start + timedelta(minutes=40)
                    outcome = (BookingStatus.ATTENDED, CreditKind.EARNED, at, local_day(start, clinic.zone))
                elif r < 0.90:
                    at = created + (start - created) * rng.random()
                    outcome = (BookingStatus.CANCELLED, CreditKind.VOID, at, local_day(at, clinic.zone))
                elif r < 0.97:
                    at = start + timedelta(hours=1)
                    outcome = (BookingStatus.NO_SHOW, CreditKind.VOID, at, local_day(at, clinic.zone))
            elif r < 0.08:
                at = created + (now - created) * rng.random()
                outcome = (BookingStatus.CANCELLED, CreditKind.VOID, at, local_day(at, clinic.zone))
            status = outcome[0] if outcome else (BookingStatus.CONFIRMED if r < 0.5 else BookingStatus.BOOKED)
            updated = outcome[2] if outcome else created
            bookings.append((
                booking_id, clinic.id, rng.choice(clinic.patients), rng.choice(clinic.providers), service_id, start,
                end, status, channel, Source.NEW_REQUEST, None, None, None, m.id, m.id, m.role, None,
                "patient called" if status is BookingStatus.CANCELLED else None, created, updated))
            day = local_day(created, clinic.zone)
            entries.append((entry_id, clinic.id, m.id, m.role, booking_id, service_id, is_recall, CreditKind.PENDING,
                            cents, created, day))
            expected.add(m.id, CreditKind.PENDING, cents, day)
            entry_id += 1
            self.entries += 1
            if outcome and self.entries < a.entries:
                _, kind, at, oday = outcome
                entries.append((entry_id, clinic.id, m.id, m.role, booking_id, service_id, is_recall, kind, cents, at,
                                oday))
                expected.add(m.id, kind, cents, oday)
                entry_id += 1
                self.entries += 1
            booking_id += 1
            self.bookings += 1
            if len(bookings) >= CHUNK:
                yield bookings, entries
                bookings, entries = [], []
        if bookings:
            yield bookings, entries

    def load(self) -> None:
        books = BulkTable(self.engine, Booking.__table__, BOOKING_COLS)
        ledger = BulkTable(self.engine, CreditEntry.__table__, ENTRY_COLS)
        raw = self.engine.raw_connection()
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite:  # a bigger page cache for this loading connection only; put back before it returns to the pool
            cache_size = raw.driver_connection.execute("PRAGMA cache_size").fetchone()[0]
            raw.driver_connection.execute("PRAGMA cache_size=-262144")
        try:
            self._begin(raw)
            for booking_rows, entry_rows in self.generate():
                books.write(raw.driver_connection, booking_rows)
                ledger.write(raw.driver_connection, entry_rows)
            raw.commit()
            if self.engine.dialect.name == "postgresql":
                cur = raw.cursor()
                for table in ("bookings", "credit_entries"):  # explicit ids: move the sequences past them
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))")
                raw.commit()
        finally:
            if sqlite:
                raw.driver_connection.execute(f"PRAGMA cache_size={int(cache_size)}")
            raw.close()

    def analyze(self, sqlite_too: bool) -> str:
        """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon do after a bulk load. SQLite: only if asked."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            return "VACUUM ANALYZE"
        if sqlite_too:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
            return "ANALYZE"
        return "no ANALYZE (recall never runs it on SQLite)"


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


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
            raise SystemExit(f"{bdb.describe()} already holds {existing} credit entries; pass --reset to start "
                             "from an empty database (or --allow-existing to add to them)")
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
        per_staff = sorted(sum(v[1] + v[3] + v[5] for (s, *_), v in builder.expected.months.items() if s == m.id)
                           for m in builder.members)
        print(f"ledger: {builder.entries:,} entries for {builder.bookings:,} bookings, {len(builder.members)} earning "
              f"staff in {args.clinics} clinics over {args.months} months; entries per staff min {per_staff[0]:,} "
              f"median {per_staff[len(per_staff) // 2]:,} max {per_staff[-1]:,}")
        print(f"build: setup {t1 - t0:.1f} s, bulk load {t2 - t1:.1f} s "
              f"({builder.entries / (t2 - t1):,.0f} entries/s incl. bookings), {analyzed} {t3 - t2:.1f} s; "
              f"total {t3 - t0:.1f} s")

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

        app = create_app("production", {"DATABASE_URL": bdb.url}, database=bdb.db)
        client = app.test_client()

        def use_case(q: Query) -> None:
            with bdb.db.reader() as s:
                staff_earnings(s, q.member.id, q.start, q.end)

        def count_baseline(q: Query) -> None:
            with bdb.db.reader() as s:
                s.execute(sa.text("SELECT count(*) FROM credit_entries WHERE staff_id = :sid"),
                          {"sid": q.member.id}).scalar_one()

        def pk_baseline(q: Query) -> None:
            with bdb.db.reader() as s:
                s.execute(sa.text("SELECT id, staff_id, kind, amount_cents, local_day FROM credit_entries "
                                  "WHERE id = :id"), {"id": q.entry_id}).one()

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
                        print(f"  (stopped by --max-seconds after {len(lat['staff_earnings() use case'].seconds)} "
                              f"queries)")
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
            print(f"{label}  ({len(lat['staff_earnings() use case'].seconds)} queries, random staff, sequential, "
                  f"ms)")
            print(f"  {'path':34s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}")
            for name, l in lat.items():
                s = l.summary()
                print(f"  {name:34s} {fmt_ms(s['p50_ms'])} {fmt_ms(s['p95_ms'])} {fmt_ms(s['p99_ms'])} "
                      f"{fmt_ms(s['max_ms'])}")
            uc = lat["staff_earnings() use case"].summary()
            cnt = lat["baseline: count(*) by staff_id"].summary()
            pk = lat["baseline: primary-key lookup"].summary()
            tc = lat["GET /earnings/me (test client)"].summary()
            tr = lat["GET /readyz (test client)"].summary()
            ws = lat["GET /earnings/me (waitress)"].summary()
            wr = lat["GET /readyz (waitress)"].summary()
            print(f"  ratios (p50): use case / count(*) {uc['p50_ms'] / cnt['p50_ms']:.2f}x, "
                  f"use case / pk lookup {uc['p50_ms'] / pk['p50_ms']:.1f}x, "
                  f"earnings / readyz over test client {tc['p50_ms'] / tr['p50_ms']:.1f}x, "
                  f"over waitress {ws['p50_ms'] / wr['p50_ms']:.1f}x")
            worst = max(uc["p95_ms"], tc["p95_ms"], ws["p95_ms"])
            ok = worst <= TARGET_P95_MS
            met &= ok
            print(f"  target p95 <= {TARGET_P95_MS:.0f} ms: {'MET' if ok else 'NOT MET'} (worst p95 {worst:.2f} ms)")
        return 0 if met else 1
    finally:
        bdb.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_args(parser)
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
