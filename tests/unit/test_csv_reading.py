"""Reading a CSV file's cells and columns, without a database: times, days, statuses, encodings, mappings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from recall.common.errors import ValidationError
from recall.imports import csv_values as values
from recall.imports.csv_read import parse_csv
from recall.imports.records import AppointmentState, PatientRecord
from recall.visits.booking import Channel

ZONE = "Europe/Stockholm"


@pytest.mark.parametrize(
    "written,instant",
    [
        ("2026-03-05T13:00:00+01:00", datetime(2026, 3, 5, 12, 0, tzinfo=UTC)),
        ("2026-03-05T12:00Z", datetime(2026, 3, 5, 12, 0, tzinfo=UTC)),
        ("2026-03-05 13:00", datetime(2026, 3, 5, 12, 0, tzinfo=UTC)),  # winter: UTC+1
        ("2026-06-05 13:00", datetime(2026, 6, 5, 11, 0, tzinfo=UTC)),  # summer: UTC+2
        ("05.03.2026 13:00", datetime(2026, 3, 5, 12, 0, tzinfo=UTC)),
        ("2026/03/05 13:00:30", datetime(2026, 3, 5, 12, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_time_with_an_offset_is_that_instant_and_one_without_is_the_clinics_wall_clock(written, instant):
    assert values.instant(written, ZONE) == instant


def test_a_local_time_the_clocks_skip_or_repeat_is_refused_asking_for_an_offset():
    with pytest.raises(ValueError, match="does not exist in Europe/Stockholm"):
        values.instant("2026-03-29 02:30", ZONE)
    with pytest.raises(ValueError, match="happens twice in Europe/Stockholm"):
        values.instant("2026-10-25 02:30", ZONE)
    assert values.instant("2026-10-25T02:30+01:00", ZONE) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("written", ["tomorrow", "2026-13-01 10:00", "31.02.2026 10:00", "10:00"])
def test_what_is_not_a_time_says_how_to_write_one(written):
    with pytest.raises(ValueError, match="is not a time"):
        values.instant(written, ZONE)


@pytest.mark.parametrize("written", ["1980-05-01", "01.05.1980", "1980/05/01", " 1.5.1980 "])
def test_a_day_is_read_in_the_usual_forms(written):
    assert values.day(written) == date(1980, 5, 1)


@pytest.mark.parametrize(
    "written,state",
    [
        ("", AppointmentState.BOOKED),
        ("No-Show", AppointmentState.NOSHOW),
        ("canceled", AppointmentState.CANCELLED),
        ("Attended", AppointmentState.FULFILLED),
        ("booked", AppointmentState.BOOKED),
    ],
)
def test_statuses_are_read_with_their_usual_spellings(written, state):
    assert values.state(written) is state


def test_a_channel_is_read_with_its_usual_spellings_and_an_unknown_one_is_refused():
    assert values.channel("In person") is Channel.IN_PERSON and values.channel(" ") is None
    with pytest.raises(ValueError, match="is not a channel"):
        values.channel("pigeon")


PATIENTS = "Patient ID;Full name;Tel\nP-1;Åsa Öberg;070-555 12 34\n"


@pytest.mark.parametrize(
    "data", [PATIENTS.encode(), b"\xef\xbb\xbf" + PATIENTS.encode(), PATIENTS.replace("\n", "\r\n").encode()]
)
def test_utf8_with_or_without_a_bom_and_a_semicolon_delimiter_are_read(data):
    parsed = parse_csv(data, "patients", None, ZONE)
    assert parsed.problems == []
    assert parsed.columns == {"ref": "Patient ID", "full_name": "Full name", "phone": "Tel"}
    assert parsed.records == [(2, PatientRecord(ref="P-1", full_name="Åsa Öberg", phone="070-555 12 34"))]


def test_a_file_that_is_not_utf8_is_refused_naming_the_file_and_line():
    with pytest.raises(ValidationError) as err:
        parse_csv("id,name,phone\n1,Zażółć,070\n".encode("cp1250"), "patients", None, ZONE)
    assert "not UTF-8 (line 2)" in err.value.fields["file"][0]


def test_the_mapping_names_the_files_headers_and_a_wrong_one_is_refused_on_that_field():
    data = "Nr,Imię i nazwisko,Komórka\nP-1,Anna Nowak,+48 512 345 678\n".encode()
    parsed = parse_csv(data, "patients", {"ref": "Nr", "phone": "Komórka"}, ZONE)
    assert parsed.records[0][1].phone == "+48 512 345 678" and parsed.records[0][1].full_name == "Anna Nowak"
    with pytest.raises(ValidationError) as err:
        parse_csv(data, "patients", {"ref": "Nr", "phone": "Mobile"}, ZONE)
    assert list(err.value.fields) == ["mapping.phone"]
    with pytest.raises(ValidationError) as err:
        parse_csv(data, "patients", {"shoe_size": "Nr"}, ZONE)
    assert list(err.value.fields) == ["mapping.shoe_size"]
    with pytest.raises(ValidationError) as err:
        parse_csv(data, "patients", None, ZONE)  # no column reads as the patient's identifier or phone
    assert list(err.value.fields) == ["mapping.ref"]


def test_each_bad_cell_is_a_problem_on_its_line_and_column_and_the_good_rows_read():
    data = (
        b"id,name,phone,dob\n"
        b"P-1,Good One,070-555 12 34,1980-05-01\n"
        b"P-2,,070-555 12 35,someday\n"
        b"\n"
        b'"P-3","Two\nLines",070-555 12 36,\n'
        b"P-4,Too,Many,Values,Here\n"
    )
    parsed = parse_csv(data, "patients", None, ZONE)
    assert [line for line, _ in parsed.records] == [2, 5]
    assert [(p.line, p.column) for p in parsed.problems] == [(3, "name"), (3, "dob"), (7, None)]
    assert parsed.rows == 4


def test_an_empty_file_or_a_repeated_header_is_refused_naming_the_file():
    for data in (b"", b"id,name,id\n"):
        with pytest.raises(ValidationError) as err:
            parse_csv(data, "patients", None, ZONE)
        assert list(err.value.fields) == ["file"]
