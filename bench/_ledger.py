"""The ledger for bench_earnings.py: generated, then bulk-loaded.

A chain of clinics with earning staff, providers, services and patients, made
through the use cases (patients in bulk), then bookings with their credit
entries, generated in chunks and bulk-loaded (executemany on SQLite, COPY on
PostgreSQL) in the exact storage form SQLAlchemy would write. ``Expected`` keeps
the totals computed while generating, to check what staff_earnings() answers.

Not a benchmark itself; bench_earnings.py imports it (``python bench/<script>.py``
puts this directory on ``sys.path``).
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from _common import BenchDatabase

from recall.clinic.catalog import create_provider, create_service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import create_staff, issue_token
from recall.common.actors import Actor, Role
from recall.common.clock import SystemClock
from recall.common.db import UTCDateTime
from recall.common.timeutil import local_day
from recall.credit.ledger import CreditEntry, CreditKind
from recall.visits.bookings import Booking, BookingStatus, Channel, Source

UTC = UTC
ZONES = [
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/London",
    "America/New_York",
    "Europe/Helsinki",
    "Asia/Shanghai",
    "America/Chicago",
    "Europe/Berlin",
]
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
        self.procs = [
            (i, p)
            for i, name in enumerate(columns)
            if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        self.fast = [
            (i, f)
            for i, name in enumerate(columns)
            if (f := _fast_converter(table.c[name].type, dialect.name)) is not None
        ]

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
            raw.executemany(
                f"INSERT INTO {self.table.name} ({cols}) VALUES ({marks})",  # type: ignore[attr-defined]
                self._stored(rows),
            )
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


BOOKING_COLS = [
    "id",
    "clinic_id",
    "patient_id",
    "provider_id",
    "service_id",
    "start_at",
    "end_at",
    "status",
    "channel",
    "source",
    "source_visit_id",
    "recall_task_id",
    "follow_up_of_visit_id",
    "created_by_id",
    "credited_staff_id",
    "credited_role",
    "note",
    "cancel_reason",
    "created_at",
    "updated_at",
]
ENTRY_COLS = [
    "id",
    "clinic_id",
    "staff_id",
    "role",
    "booking_id",
    "service_id",
    "is_recall",
    "kind",
    "amount_cents",
    "occurred_at",
    "local_day",
]
PATIENT_COLS = [
    "clinic_id",
    "full_name",
    "phone_e164",
    "language",
    "consent_sms",
    "consent_voice",
    "consent_call",
    "opted_out",
    "phone_invalid",
    "created_at",
    "updated_at",
]


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
        have = tuple(
            getattr(got, f)
            for f in (
                "booked_cents",
                "booked_count",
                "earned_cents",
                "earned_count",
                "voided_cents",
                "voided_count",
                "pending_cents",
                "pending_count",
            )
        )
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
                clinic = create_clinic(
                    s,
                    self.clock,
                    ClinicInput(
                        name=f"Bench chain {c} {time.time_ns()}", timezone=zone, phone_region="SE", currency="SEK"
                    ),
                )
                create_staff(s, self.clock, Actor.system(clinic.id), name=f"Manager {c}", role=Role.MANAGER)
                n_desk = round(per_clinic[c] * 0.4)
                for i in range(per_clinic[c]):
                    role = Role.FRONTDESK if i < n_desk else Role.OPERATOR
                    member = create_staff(
                        s, self.clock, Actor.system(clinic.id), name=f"{role.value} {c}-{i}", role=role
                    )
                    token = issue_token(s, self.clock, member, "bench").secret
                    self.members.append(Member(member.id, clinic.id, zone, role, token))
                providers = [
                    create_provider(
                        s, self.clock, Actor.system(clinic.id), {"name": f"Dr. {c}-{i}", "specialty": "gp"}
                    ).id
                    for i in range(3)
                ]
                services = [
                    create_service(
                        s,
                        self.clock,
                        Actor.system(clinic.id),
                        {"name": f"Service {i}", "duration_minutes": 30, "follow_up_interval_days": 30 * (i + 1)},
                    ).id
                    for i in range(4)
                ]
            tag = rng.randrange(10**6)
            raw = self.engine.raw_connection()
            try:
                self._begin(raw)
                patients.write(
                    raw.driver_connection,
                    [
                        (
                            clinic.id,
                            f"Patient {c}-{i}",
                            f"+4670{(tag + i) % 10**7:07d}",
                            Language.SV,
                            True,
                            True,
                            True,
                            False,
                            False,
                            self.now,
                            self.now,
                        )
                        for i in range(a.patients_per_clinic)
                    ],
                )
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
                minute=15 * rng.randrange(4), second=0, microsecond=0
            )
            end = start + timedelta(minutes=30)
            service_id = rng.choice(clinic.services)
            is_recall = m.role is Role.OPERATOR and rng.random() < 0.3
            cents = RECALL_CENTS if is_recall else BASE_CENTS
            channel = (
                Channel.IN_PERSON
                if m.role is Role.FRONTDESK
                else rng.choice((Channel.PHONE, Channel.PHONE, Channel.CHAT, Channel.SMS))
            )
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
            bookings.append(
                (
                    booking_id,
                    clinic.id,
                    rng.choice(clinic.patients),
                    rng.choice(clinic.providers),
                    service_id,
                    start,
                    end,
                    status,
                    channel,
                    Source.NEW_REQUEST,
                    None,
                    None,
                    None,
                    m.id,
                    m.id,
                    m.role,
                    None,
                    "patient called" if status is BookingStatus.CANCELLED else None,
                    created,
                    updated,
                )
            )
            day = local_day(created, clinic.zone)
            entries.append(
                (
                    entry_id,
                    clinic.id,
                    m.id,
                    m.role,
                    booking_id,
                    service_id,
                    is_recall,
                    CreditKind.PENDING,
                    cents,
                    created,
                    day,
                )
            )
            expected.add(m.id, CreditKind.PENDING, cents, day)
            entry_id += 1
            self.entries += 1
            if outcome and self.entries < a.entries:
                _, kind, at, oday = outcome
                entries.append(
                    (entry_id, clinic.id, m.id, m.role, booking_id, service_id, is_recall, kind, cents, at, oday)
                )
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
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
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
