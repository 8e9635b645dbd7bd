"""FHIR Bundle import rate (entries/s) against the bare insert of the same rows, in the same run.

    .venv/bin/python bench/bench_fhir_import.py                              # fresh SQLite file, 5,000 appointments
    .venv/bin/python bench/bench_fhir_import.py --appointments 1000          # a quick run
    .venv/bin/python bench/bench_fhir_import.py --pg postgresql://postgres@127.0.0.1:5432/recall_bench

Builds a transaction Bundle of ``--patients`` patients, one practitioner, one HealthcareService and
``--appointments`` booked appointments shared among the patients (none overlapping another of the same
patient's), all from tomorrow on, shaped like the specification's examples. Then, for a clinic of its own each:

* **FHIR import**: the Bundle's JSON text read and validated by fhir.resources (R4B), mapped onto records, and
  applied through the import engine (``recall.imports.batches.import_records``, batches of ``--batch-size``) as
  the clinic's EHR: each appointment is booked through ``create_booking``, which plans its reminders. The time
  is split into reading (parse, validate, map) and applying.
* **bare insert**: the same patients, practitioner, service and bookings as SQLAlchemy Core ``INSERT``s
  (executemany) into the same tables, committed in batches of the same size: no validation, no rules, no
  reminders. It is the floor: what the database takes to store the rows at all.

Reported: entries/s of each, and the ratio import / bare insert. ``--pg URL`` runs against PostgreSQL (the
database is reset first: give it one of its own, never ``test``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Watchdog, bench_parser, machine_note, open_database

from integrations.fhir.reading import read_json
from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Language, Patient
from recall.common.actors import Actor
from recall.common.clock import SystemClock
from recall.imports.batches import import_records
from recall.imports.records import Result
from recall.visits.booking import Booking, BookingStatus, Channel, Source

SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


def make_bundle(patients: int, appointments: int, first_day: datetime) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Practitioner",
            "id": "pr-1",
            "identifier": [{"value": "DOC-1"}],
            "name": [{"family": "Ek", "given": ["Maria"]}],
            "qualification": [{"code": {"text": "general practice"}}],
        },
        {
            "resourceType": "HealthcareService",
            "id": "hs-1",
            "type": [{"coding": [{"code": "124", "display": "General Practice"}]}],
            "name": "Annual check-up",
        },
    ]
    for p in range(patients):
        resources.append(
            {
                "resourceType": "Patient",
                "id": f"p-{p}",
                "identifier": [{"system": SYSTEM, "value": f"MRN-{p}"}],
                "name": [{"given": ["Patient"], "family": f"Number {p}"}],
                "telecom": [{"system": "phone", "value": f"+4670{p:07d}", "use": "mobile"}],
                "communication": [{"language": {"coding": [{"code": "sv"}]}, "preferred": True}],
            }
        )
    for n in range(appointments):
        slot = n // patients  # each patient's n-th appointment: ten a day, half an hour apart
        start = first_day + timedelta(days=slot // 10, minutes=30 * (slot % 10))
        resources.append(
            {
                "resourceType": "Appointment",
                "id": f"a-{n}",
                "identifier": [{"value": f"APPT-{n}"}],
                "status": "booked",
                "serviceType": [{"coding": [{"code": "124", "display": "General Practice"}]}],
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=20)).isoformat(),
                "participant": [
                    {"actor": {"reference": f"Patient/p-{n % patients}"}, "status": "accepted"},
                    {"actor": {"reference": "Practitioner/pr-1"}, "status": "accepted"},
                ],
            }
        )
    entries = [
        {
            "fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}",
            "resource": r,
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        }
        for r in resources
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def new_clinic(bdb: Any, clock: SystemClock, name: str) -> int:
    with bdb.db.writer() as s:
        clinic = create_clinic(s, clock, ClinicInput(name=name, timezone="Europe/Stockholm", phone_region="SE"))
        return clinic.id


def fhir_import(bdb: Any, clock: SystemClock, clinic_id: int, text: str, batch: int) -> dict[str, float]:
    started, cpu = time.perf_counter(), time.process_time()
    parsed = read_json(json.loads(text))
    records = [record for _entry, record in parsed.to_apply()]
    read = time.perf_counter() - started
    report = import_records(bdb.db, clock, Actor.system(clinic_id), records, batch_size=batch)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    if report.counts[Result.REFUSED] or parsed.problems:
        first = report.refused[0] if report.refused else parsed.problems[0]
        raise SystemExit(f"the import refused entries, e.g. {first}")
    return {"entries": len(parsed.entries), "records": len(records), "read": read, "total": total, "cpu": cpu}


def bare_insert(bdb: Any, clinic_id: int, bundle: dict[str, Any], batch: int) -> dict[str, float]:
    """The same rows, as Core INSERTs: what the import stores, without reading, rules or reminders."""
    now = datetime.now(UTC)
    resources = [e["resource"] for e in bundle["entry"]]
    started, cpu = time.perf_counter(), time.process_time()
    with bdb.db.writer() as s:
        provider = s.execute(
            sa.insert(Provider)
            .values(
                clinic_id=clinic_id,
                name="Maria Ek",
                specialty="general practice",
                active=True,
                created_at=now,
                external_ref="DOC-1",
            )
            .returning(Provider.id)
        ).scalar_one()
        service = s.execute(
            sa.insert(Service)
            .values(
                clinic_id=clinic_id,
                name="Annual check-up",
                duration_minutes=30,
                value_weight=1.0,
                active=True,
                created_at=now,
                external_ref="124",
            )
            .returning(Service.id)
        ).scalar_one()
        s.commit()
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    ids: dict[str, int] = {}
    for chunk in _chunks(patients, batch):
        with bdb.db.writer() as s:
            for r in chunk:  # one statement each, RETURNING the id the bookings need
                ids[f"Patient/{r['id']}"] = s.execute(
                    sa.insert(Patient)
                    .values(
                        clinic_id=clinic_id,
                        full_name=f"Patient {r['name'][0]['family']}",
                        phone_e164=r["telecom"][0]["value"],
                        language=Language.SV,
                        external_ref=r["identifier"][0]["value"],
                        consent_sms=True,
                        consent_voice=True,
                        consent_call=True,
                        opted_out=False,
                        phone_invalid=False,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Patient.id)
                ).scalar_one()
            s.commit()
    appointments = [r for r in resources if r["resourceType"] == "Appointment"]
    for chunk in _chunks(appointments, batch):
        rows = [
            {
                "clinic_id": clinic_id,
                "patient_id": ids[r["participant"][0]["actor"]["reference"]],
                "provider_id": provider,
                "service_id": service,
                "start_at": datetime.fromisoformat(r["start"]),
                "end_at": datetime.fromisoformat(r["end"]),
                "status": BookingStatus.BOOKED,
                "channel": Channel.ONLINE,
                "source": Source.NEW_REQUEST,
                "created_at": now,
                "updated_at": now,
                "external_ref": r["identifier"][0]["value"],
            }
            for r in chunk
        ]
        with bdb.db.writer() as s:
            s.execute(sa.insert(Booking), rows)
            s.commit()
    return {"entries": len(resources), "total": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run(args: argparse.Namespace) -> int:
    bdb = open_database(args.pg or args.database_url, reset=args.reset or bool(args.pg))
    try:
        clock = SystemClock()
        print(f"database: {bdb.describe()}; {machine_note()}")
        tomorrow = (clock.now() + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
        bundle = make_bundle(args.patients, args.appointments, tomorrow)
        text = json.dumps(bundle)
        print(f"bundle: {len(bundle['entry'])} entries ({args.appointments} appointments), {len(text) / 1e6:.1f} MB")
        bare = bare_insert(bdb, new_clinic(bdb, clock, "Bare insert"), bundle, args.batch_size)
        got = fhir_import(bdb, clock, new_clinic(bdb, clock, "FHIR import"), text, args.batch_size)
        bare_rate, import_rate = bare["entries"] / bare["total"], got["entries"] / got["total"]
        print(
            f"bare insert:  {bare['entries']:>7} rows     in {bare['total']:7.2f} s = {bare_rate:9.0f} entries/s"
            f"  (this process's CPU: {bare['cpu']:.2f} s)"
        )
        print(
            f"FHIR import:  {got['entries']:>7} entries  in {got['total']:7.2f} s = {import_rate:9.0f} entries/s"
            f"  (read, validate, map: {got['read']:.2f} s = {got['entries'] / got['read']:.0f} entries/s;"
            f" apply: {got['total'] - got['read']:.2f} s; this process's CPU: {got['cpu']:.2f} s)"
        )
        print(f"ratio import / bare insert: {import_rate / bare_rate:.3f} ({bare_rate / import_rate:.1f}x slower)")
        print(f"after: {machine_note()}")
        return 0
    finally:
        bdb.close()


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--pg", default=None, metavar="URL", help="a PostgreSQL database of its own (reset first)")
    parser.add_argument(
        "--appointments", type=int, default=5000, help="appointments in the Bundle (default %(default)s)"
    )
    parser.add_argument(
        "--patients", type=int, default=500, help="patients they are shared among (default %(default)s)"
    )
    parser.add_argument("--batch-size", type=int, default=500, help="records per committed batch (default %(default)s)")
    args = parser.parse_args()
    if args.patients < 1 or args.appointments < 1 or args.appointments > args.patients * 10 * 300:
        parser.error("need --patients >= 1 and 1 <= --appointments <= 3000 x --patients")
    watchdog = Watchdog(args.timeout)
    try:
        return run(args)
    finally:
        watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
