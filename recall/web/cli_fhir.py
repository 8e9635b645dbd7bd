"""``flask --app wsgi recall import-fhir --clinic N FILE``: a FHIR R4 Bundle (.json) or NDJSON (.ndjson) file
into a clinic, with a progress bar, each entry's problems (the element path and the reason) and a summary.

The records go through the import engine (``recall.imports.batches``) as the system acting for the clinic, in
committed batches; ``--dry-run`` applies them all and rolls back, reporting what the import would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from integrations.fhir.reading import Entry, Unreadable, read_path
from integrations.fhir.responses import KIND_TYPES, outcome_problems
from recall.clinic.clinics import get_clinic
from recall.clinic.ehr import known_ref, remember_refs
from recall.common.actors import Actor
from recall.common.errors import NotFound
from recall.imports.batches import import_records
from recall.imports.records import EntryOutcome, Result
from recall.web.cli import group
from recall.web.common import clock, database


@group.command("import-fhir")
@click.option("--clinic", "clinic_id", type=int, required=True, help="the clinic's id")
@click.option("--dry-run", is_flag=True, help="apply everything, report, and write nothing")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_fhir_cmd(clinic_id: int, file: Path, dry_run: bool, batch_size: int) -> None:
    """Import a FHIR R4 Bundle or NDJSON file: patients, practitioners, services, appointments, encounters."""
    with database().reader() as s:
        try:
            get_clinic(s, clinic_id)
        except NotFound:
            raise click.ClickException(f"there is no clinic {clinic_id}") from None
    with database().reader() as s:
        try:
            parsed = read_path(file, lambda kind, fhir_id: known_ref(s, clinic_id, kind, fhir_id))
        except Unreadable as error:
            raise click.ClickException(str(error.problem)) from None
    for entry in parsed.problems:
        for problem in entry.problems:
            click.echo(f"{entry.label}: {problem}", err=True)
    pairs = parsed.to_apply()
    refused: list[tuple[Entry | None, EntryOutcome]] = []
    outcomes: dict[int, EntryOutcome] = {}

    def heard(position: int, outcome: EntryOutcome) -> None:
        entry = pairs[position][0]
        if entry is not None:
            outcomes[entry.index] = outcome
        if outcome.result is Result.REFUSED:
            refused.append((entry, outcome))

    on_terminal = sys.stdout.isatty()
    with click.progressbar(length=len(pairs), label="importing", show_pos=True) as bar:

        def progressed(count: int) -> None:
            bar.update(count)
            if not on_terminal:  # not a terminal (a log, a pipe): a line per batch instead of the bar
                click.echo(f"importing: {bar.pos}/{bar.length}")

        report = import_records(
            database(),
            clock(),
            Actor.system(clinic_id),
            [record for _entry, record in pairs],
            batch_size=batch_size,
            dry_run=dry_run,
            on_progress=progressed,
            on_outcome=heard,
        )
    if not dry_run:
        with database().writer() as s:
            remember_refs(s, clinic_id, parsed.landed(outcomes))
            s.commit()
    for source, outcome in refused:
        where = source.label if source is not None else f"{outcome.kind} {outcome.ref}"
        kind = (source.resource_type or "") if source is not None else KIND_TYPES.get(outcome.kind, outcome.kind)
        for problem in outcome_problems(kind, outcome):
            click.echo(f"{where}: {problem}", err=True)
    counts = ", ".join(f"{report.counts[r]} {r.value}" for r in Result)
    invalid = len(parsed.problems)
    ignored = sum(1 for e in parsed.entries if e.ignored and not e.problems)
    said = "would be (dry run)" if dry_run else "were"
    click.echo(f"{len(parsed.entries)} entries read; records {said}: {counts}; {invalid} invalid, {ignored} ignored")
    if invalid or report.counts[Result.REFUSED]:
        raise SystemExit(1)
