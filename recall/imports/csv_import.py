"""Importing a CSV file: its rows that read are applied as records (``import_records``), and the report names
every row that did not go in by its line and column, whether its cell could not be read or our rules refused
the record (a phone that is no number, an appointment for a patient we do not know, a cancelled booking booked
again). The good rows go in; a dry run reports the same problems and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from recall.clinic.clinics import get_clinic
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.db import Database
from recall.imports.apply import IMPORTERS, WHOLE_RECORD
from recall.imports.batches import DEFAULT_BATCH, import_records
from recall.imports.csv_read import ParsedFile, RowProblem, parse_csv
from recall.imports.records import EntryOutcome, Result


@dataclass
class CsvReport:
    kind: str
    rows: int  # data rows in the file (blank lines aside)
    dry_run: bool
    counts: dict[Result, int] = field(default_factory=lambda: dict.fromkeys(Result, 0))
    problems: list[RowProblem] = field(default_factory=list)  # by line

    @property
    def refused_rows(self) -> int:
        return len({p.line for p in self.problems})


def read_file(
    database: Database, actor: Actor, data: bytes, kind: str, mapping: Mapping[str, str] | None = None
) -> ParsedFile:
    """The file read against the clinic's zone (for local times); raises ``ValidationError`` if it cannot be."""
    actor.require(*IMPORTERS)
    with database.reader() as session:
        zone = get_clinic(session, actor.clinic_id).timezone
    return parse_csv(data, kind, mapping, zone)


def import_file(
    database: Database,
    clock: Clock,
    actor: Actor,
    parsed: ParsedFile,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> CsvReport:
    report = CsvReport(kind=parsed.kind, rows=parsed.rows, dry_run=dry_run, problems=list(parsed.problems))
    lines = [line for line, _ in parsed.records]

    def heard(index: int, outcome: EntryOutcome) -> None:
        if outcome.result is Result.REFUSED:
            report.problems.extend(_problems(parsed, lines[index], outcome))

    result = import_records(
        database,
        clock,
        actor,
        (record for _, record in parsed.records),
        batch_size=batch_size,
        dry_run=dry_run,
        on_progress=on_progress,
        on_outcome=heard,
    )
    report.counts = dict(result.counts)
    report.counts[Result.REFUSED] += len({p.line for p in parsed.problems})
    report.problems.sort(key=lambda p: p.line)
    return report


def _problems(parsed: ParsedFile, line: int, outcome: EntryOutcome) -> list[RowProblem]:
    """A refusal's fields as the file's columns (a field with no column of its own names the whole row)."""
    out = []
    for name, reasons in outcome.errors.items():
        column = parsed.column_of(name) if name != WHOLE_RECORD else None
        for reason in reasons:
            out.append(RowProblem(line, column, None if name == WHOLE_RECORD else name, reason))
    return out
