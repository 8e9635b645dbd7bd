"""CSV import throughput: patients, then their appointments, imported, imported again, and checked in a dry run.

    .venv/bin/python bench/bench_imports.py                                  # fresh SQLite file, 2,000 rows each
    .venv/bin/python bench/bench_imports.py --rows 5000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/recall_bench --reset

Through the same code as ``recall import-csv`` (recall.imports.csv_import, in this process, no HTTP): each row a
savepoint of its own, through the use cases (a patient created; a booking made with its reminders planned).
Reported per step: rows, seconds, rows per second, and what each row came to (created, unchanged, refused).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Watchdog, bench_parser, machine_note, open_database

from recall.clinic.catalog import create_service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.common.actors import Actor
from recall.common.clock import SystemClock
from recall.imports.csv_import import import_file, read_file
from recall.imports.records import Result

NAMES = ["Zażółć Gęślą", "Анна Иванова", "王小明", "Åsa Öberg", "Mary O'Neill"]
LANGUAGES = ["pl-PL", "ru", "zh-CN", "sv-SE", "en-GB"]


def patients_file(rows: int) -> bytes:
    lines = ["Patient ID;Name;Tel;Language"]
    for n in range(rows):
        lines.append(f"P-{n};{NAMES[n % 5]} {n};070-{n // 10000 % 10}{n % 10000:04d} 55;{LANGUAGES[n % 5]}")
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def appointments_file(rows: int, start: datetime) -> bytes:
    lines = ["id,patient,start,service"]
    for n in range(rows):
        at = start + timedelta(days=1 + n % 60, hours=n % 8)
        lines.append(f"A-{n},P-{n},{at.isoformat()},S-1")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    Watchdog(args.timeout)
    bench = open_database(args.database_url, reset=args.reset)
    db, clock = bench.db, SystemClock()
    with db.writer() as s:
        clinic = create_clinic(s, clock, ClinicInput(name="Bench", timezone="Europe/Stockholm", phone_region="SE"))
    ehr = Actor.system(clinic.id)
    with db.writer() as s:
        create_service(s, clock, ehr, {"name": "Check-up", "follow_up_interval_days": 30, "external_ref": "S-1"})
    print(f"bench_imports: {args.rows} rows per file on {bench.describe()}; {machine_note()}")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    files = [("patients", patients_file(args.rows)), ("appointments", appointments_file(args.rows, now))]
    for step, dry_run in (("import", False), ("again", False), ("dry run", True)):
        for kind, data in files:
            began = time.perf_counter()
            parsed = read_file(db, ehr, data, kind)
            report = import_file(db, clock, ehr, parsed, dry_run=dry_run)
            took = time.perf_counter() - began
            came = ", ".join(f"{r.value} {report.counts[r]}" for r in Result if report.counts[r])
            rate = report.rows / took
            print(f"  {step:<8} {kind:<13} {report.rows:>6} rows {took:8.2f} s {rate:9.0f} rows/s  ({came})")
    bench.close()


if __name__ == "__main__":
    main()
