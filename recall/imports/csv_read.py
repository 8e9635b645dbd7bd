"""Reading a CSV file into records: its encoding, its delimiter, its columns matched to our fields, and every
cell that cannot be read reported by line and column.

The file is UTF-8, with or without a byte-order mark (Excel writes one); its first line is the header. The
delimiter is a comma, a semicolon (Excel's in much of Europe) or a tab, whichever the header line has most of.
A row is reported by the line it starts on (the header is line 1; a quoted value may span lines).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recall.common.errors import ValidationError
from recall.imports.csv_fields import KINDS, Field, build_record, normalized
from recall.imports.records import Record

DELIMITERS = (",", ";", "\t")
MAX_CELL = 10_000  # characters; a cell longer than that is not a field of ours


@dataclass(frozen=True)
class RowProblem:
    """Why a row was not imported: its line, the file's column (None: the whole row), our field, the reason."""

    line: int
    column: str | None
    field: str | None
    reason: str


@dataclass
class ParsedFile:
    kind: str
    columns: dict[str, str]  # our field -> the file's header
    rows: int = 0
    records: list[tuple[int, Record]] = field(default_factory=list)  # (line, record) of the rows that read
    problems: list[RowProblem] = field(default_factory=list)

    def column_of(self, name: str) -> str | None:
        return self.columns.get(name)


def parse_csv(data: bytes, kind: str, mapping: Mapping[str, str] | None, zone: str) -> ParsedFile:
    """The file's rows as records, and the problems of those that do not read. A file that cannot be read at all
    (not UTF-8, no header, a mapping naming a column it lacks) raises ``ValidationError`` naming ``file`` or
    ``mapping.<field>``."""
    if kind not in KINDS:
        raise ValidationError(f"must be one of {', '.join(KINDS)}", field="kind")
    fields = KINDS[kind]
    text = _decode(data)
    lines = text.splitlines()
    header_line = lines[0] if lines else ""
    delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError("the file is empty: its first line must name the columns", field="file") from None
    except csv.Error as exc:
        raise ValidationError(f"the header line cannot be read: {exc}", field="file") from None
    columns = _columns(fields, [h.strip() for h in header], mapping or {})
    parsed = ParsedFile(kind=kind, columns=columns)
    position = {h.strip(): i for i, h in enumerate(header)}
    by_field = {f.name: f for f in fields}
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.rows += 1
            parsed.problems.append(RowProblem(line, None, None, f"the row cannot be read as CSV: {exc}"))
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        parsed.rows += 1
        _read_row(parsed, start, row, len(header), position, by_field, zone)
    return parsed


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"the file is not UTF-8 (line {line}); save it as CSV UTF-8", field="file") from None


def _columns(fields: tuple[Field, ...], header: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in fields}
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise ValidationError(f"the column '{h}' appears twice in the header", field="file")
        seen.add(h)
    for ours, theirs in mapping.items():
        if ours not in names:
            raise ValidationError(
                f"is not a field of a {_kind(fields)} file; the fields are {', '.join(f.name for f in fields)}",
                field=f"mapping.{ours}",
            )
        if not isinstance(theirs, str) or theirs.strip() not in seen:
            raise ValidationError(
                f"the file has no column '{theirs}'; its columns are {', '.join(repr(h) for h in header)}",
                field=f"mapping.{ours}",
            )
    columns = {ours: theirs.strip() for ours, theirs in mapping.items()}
    taken = set(columns.values())
    by_normal = {normalized(h): h for h in header if h}
    for f in fields:
        if f.name in columns:
            continue
        found = next((by_normal[n] for n in (normalized(f.name), *f.headers) if n in by_normal), None)
        if found is not None and found not in taken:
            columns[f.name], taken = found, taken | {found}
    missing = [f.name for f in fields if f.required and f.name not in columns]
    if missing:
        raise ValidationError(
            f"the file has no column for {', '.join(missing)}; name it with the mapping (field=your header)",
            field=f"mapping.{missing[0]}",
        )
    return columns


def _kind(fields: tuple[Field, ...]) -> str:
    return next(k for k, v in KINDS.items() if v is fields)


def _read_row(
    parsed: ParsedFile,
    line: int,
    row: list[str],
    width: int,
    position: dict[str, int],
    by_field: dict[str, Field],
    zone: str,
) -> None:
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        parsed.problems.append(
            RowProblem(line, None, None, f"the row has {len(row)} values; the header names {width} columns")
        )
        return
    cells: dict[str, Any] = {}
    problems = []
    for name, header in parsed.columns.items():
        spec = by_field[name]
        index = position[header]
        raw = row[index] if index < len(row) else ""
        if len(raw) > MAX_CELL:
            problems.append(RowProblem(line, header, name, f"is longer than {MAX_CELL} characters"))
            continue
        if spec.required and not raw.strip():
            problems.append(RowProblem(line, header, name, "is required"))
            continue
        try:
            cells[name] = spec.read(raw, zone)
        except ValueError as exc:
            problems.append(RowProblem(line, header, name, str(exc)))
    if problems:
        parsed.problems.extend(problems)
        return
    parsed.records.append((line, build_record(parsed.kind, cells)))
