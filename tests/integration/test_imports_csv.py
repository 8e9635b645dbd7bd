"""A clinic's CSV files imported: the good rows go in, every bad row is reported by line and column (cells that
do not read and records our rules refuse alike), and a dry run reports the same and writes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from recall.clinic.catalog import Service
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import Staff
from recall.common.actors import Actor
from recall.imports.csv_import import import_file, read_file
from recall.imports.records import Result
from recall.visits.booking import Booking, BookingStatus
from tests.integration.imports_scene import snapshot

pytestmark = pytest.mark.db

PATIENTS = """\ufeffPatient ID;Name;Tel;Language;Born
P-pl;Zażółć Gęślą-Jaźń;+48 512 345 601;pl-PL;1980-05-01
P-ru;Анна Сергеевна Иванова;+7 912 345-67-89;ru;12.03.1975
P-zh;王小明;+86 138 0013 8000;zh-CN;
P-sv;Åsa Öberg-Ärlig;070-555 12 34;sv;
P-en;Mary O'Neill;+44 7911 123456;en-GB;
P-bad;Bad Phone;12345abc;en;
P-day;Bad Day;070-555 12 35;sv;the 5th of May
;No Identifier;070-555 12 36;sv;
"""


def _import(database, clock, actor, text, kind, mapping=None, **kw):
    parsed = read_file(database, actor, text.encode(), kind, mapping)
    return import_file(database, clock, actor, parsed, **kw)


def test_a_patients_file_imports_its_good_rows_and_reports_each_bad_one_by_line_and_column(database, clock, world):
    manager = Actor(world.a.staff["manager"].id, world.a.clinic.id, world.a.staff["manager"].role)
    report = _import(database, clock, manager, PATIENTS, "patients", {"date_of_birth": "Born"})
    assert (report.rows, report.counts[Result.CREATED], report.counts[Result.REFUSED]) == (8, 5, 3)
    assert [(p.line, p.column) for p in report.problems] == [(7, "Tel"), (8, "Born"), (9, "Patient ID")]
    assert "not a phone number" in report.problems[0].reason
    with database.reader() as s:
        rows = dict(
            s.execute(sa.select(Patient.external_ref, Patient.full_name).where(Patient.external_ref.is_not(None))).all()
        )
        languages = dict(
            s.execute(sa.select(Patient.external_ref, Patient.language).where(Patient.external_ref.is_not(None))).all()
        )
    assert rows == {
        "P-pl": "Zażółć Gęślą-Jaźń",
        "P-ru": "Анна Сергеевна Иванова",
        "P-zh": "王小明",
        "P-sv": "Åsa Öberg-Ärlig",
        "P-en": "Mary O'Neill",
    }
    assert languages["P-pl"] is Language.PL and languages["P-zh"] is Language.ZH and languages["P-en"] is Language.EN


def test_importing_the_same_file_again_changes_nothing(database, clock, world):
    ehr = Actor.system(world.a.clinic.id)
    _import(database, clock, ehr, PATIENTS, "patients", {"date_of_birth": "Born"})
    before = snapshot(database)
    again = _import(database, clock, ehr, PATIENTS, "patients", {"date_of_birth": "Born"})
    assert (again.counts[Result.UNCHANGED], again.counts[Result.REFUSED]) == (5, 3)
    assert snapshot(database) == before


def test_a_dry_run_reports_every_rows_problems_and_writes_nothing(database, clock, world):
    ehr = Actor.system(world.a.clinic.id)
    before = snapshot(database)
    report = _import(database, clock, ehr, PATIENTS, "patients", {"date_of_birth": "Born"}, dry_run=True)
    assert report.dry_run and (report.counts[Result.CREATED], report.counts[Result.REFUSED]) == (5, 3)
    assert [(p.line, p.column) for p in report.problems] == [(7, "Tel"), (8, "Born"), (9, "Patient ID")]
    assert snapshot(database) == before


APPOINTMENTS = """id,patient,start,end,status,booked by,channel,service
A-1,P-sv,2026-03-05 13:00,,booked,,,S-1
A-2,P-sv,2026-03-05 13:15,,booked,,,S-1
A-3,P-404,2026-03-06 10:00,,booked,,,S-1
A-4,P-pl,2026-03-06T10:00:00+01:00,2026-03-06T10:20:00+01:00,booked,op@clinic.example,phone,S-1
A-5,P-pl,2026-03-29 02:30,,booked,,,S-1
A-6,P-ru,2026-03-01 10:00,,booked,,,S-1
A-7,P-ru,2026-03-09 10:00,,maybe,,,S-1
"""


def test_an_appointments_file_reports_rule_refusals_on_their_columns_too(database, clock, world):
    ehr = Actor.system(world.a.clinic.id)
    with database.writer() as s:
        s.get(Staff, world.a.staff["operator"].id).email = "op@clinic.example"
        s.get(Service, world.a.services[0].id).external_ref = "S-1"  # the check-up, as the file names it
        s.commit()
    _import(database, clock, ehr, PATIENTS, "patients", {"date_of_birth": "Born"})
    report = _import(database, clock, ehr, APPOINTMENTS, "appointments")
    got = [(p.line, p.column) for p in report.problems]
    # an overlap, an unknown patient, a time the clocks skip, a time past, a status we do not know
    assert got == [(3, "start"), (4, "patient"), (6, "start"), (7, "start"), (8, "status")], report.problems
    assert (report.counts[Result.CREATED], report.counts[Result.REFUSED]) == (2, 5)
    with database.reader() as s:
        made = {b.external_ref: b for b in s.scalars(sa.select(Booking).where(Booking.external_ref.is_not(None)))}
    assert set(made) == {"A-1", "A-4"} and made["A-4"].credited_staff_id == world.a.staff["operator"].id
    assert made["A-1"].status is BookingStatus.BOOKED and made["A-4"].end_at.minute == 20
