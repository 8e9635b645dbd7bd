"""Importing many records: in batches, each committed as one transaction, each record its own savepoint.

A record our rules refuse is reported (its kind, identifier, fields and reasons) and the others go in. A dry
run applies every record exactly as the import would, in one transaction that is rolled back at the end: the
refusals it reports are the import's, rules included (a cancelled booking booked again, a phone that is not
one), and records that refer to earlier ones find them; it writes nothing. It holds the database's write lock
for its whole run on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy.orm import Session

from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.db import Database
from recall.imports.apply import IMPORTERS, apply_record
from recall.imports.records import EntryOutcome, Record, Result

DEFAULT_BATCH = 500


@dataclass
class ImportReport:
    """How many records each result got, and every refused one with its fields and reasons, in input order."""

    counts: dict[Result, int] = field(default_factory=lambda: dict.fromkeys(Result, 0))
    refused: list[EntryOutcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: EntryOutcome) -> None:
        self.counts[outcome.result] += 1
        if outcome.result is Result.REFUSED:
            self.refused.append(outcome)


def import_records(
    database: Database,
    clock: Clock,
    actor: Actor,
    records: Iterable[Record],
    *,
    batch_size: int = DEFAULT_BATCH,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
    on_outcome: Callable[[int, EntryOutcome], None] | None = None,
) -> ImportReport:
    """Apply ``records`` in order. ``on_progress(n)`` is told how many records a batch applied, after each;
    ``on_outcome(index, outcome)`` hears every record's outcome (its 0-based position in ``records``)."""
    actor.require(*IMPORTERS)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = ImportReport(dry_run=dry_run)
    position = 0
    if dry_run:
        with database.writer() as session:
            try:
                for batch in _batches(records, batch_size):
                    position = _apply(session, clock, actor, batch, position, report, on_outcome)
                    if on_progress is not None:
                        on_progress(len(batch))
            finally:
                session.rollback()
        return report
    for batch in _batches(records, batch_size):
        with database.writer() as session:
            position = _apply(session, clock, actor, batch, position, report, on_outcome)
            session.commit()
        if on_progress is not None:
            on_progress(len(batch))
    return report


def _apply(
    session: Session,
    clock: Clock,
    actor: Actor,
    batch: list[Record],
    position: int,
    report: ImportReport,
    on_outcome: Callable[[int, EntryOutcome], None] | None,
) -> int:
    for record in batch:
        outcome = apply_record(session, clock, actor, record)
        report.add(outcome)
        if on_outcome is not None:
            on_outcome(position, outcome)
        position += 1
    return position


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch
