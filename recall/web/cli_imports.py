"""``flask --app wsgi recall import-csv``: a clinic's patients or appointments from a CSV file.

    flask --app wsgi recall import-csv --clinic 1 --kind patients --map full_name=Name --map phone=Tel \\
        [--dry-run] [--as-staff 3] patients.csv

It imports as the system acting for the clinic (the clinic's EHR), or as the manager ``--as-staff`` names. Each
row that did not go in is printed (line, column, reason) and the command exits 1; a dry run prints the same and
writes nothing. Nothing of a row goes to the log: the report is for the person at the terminal.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from recall.clinic.staff import get_staff
from recall.common.actors import Actor, Role
from recall.common.errors import RecallError
from recall.imports.csv_fields import KINDS
from recall.imports.csv_import import CsvReport, import_file, read_file
from recall.imports.records import Result
from recall.web.common import clock, database


@click.command("import-csv")
@with_appcontext
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--kind", type=click.Choice(sorted(KINDS)), required=True)
@click.option("--map", "maps", multiple=True, metavar="FIELD=HEADER", help="our field = the file's header")
@click.option("--dry-run", is_flag=True, help="check every row as the import would, and write nothing")
@click.option("--as-staff", "staff_id", type=int, default=None, help="import as this manager (default: the system)")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_csv_cmd(
    clinic_id: int, kind: str, maps: tuple[str, ...], dry_run: bool, staff_id: int | None, batch_size: int, file: Path
) -> None:
    """Import patients or appointments from a CSV file (UTF-8); exits 1 if any row was not imported."""
    mapping = {}
    for item in maps:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip():
            raise click.BadParameter(f"'{item}' is not FIELD=HEADER", param_hint="--map")
        mapping[ours.strip()] = theirs.strip()
    actor = _actor(clinic_id, staff_id)
    try:
        parsed = read_file(database(), actor, file.read_bytes(), kind, mapping)
        with click.progressbar(length=len(parsed.records), label=f"{kind} ({len(parsed.records)} rows)") as bar:
            report = import_file(
                database(), clock(), actor, parsed, dry_run=dry_run, batch_size=batch_size, on_progress=bar.update
            )
    except RecallError as exc:
        where = ", ".join(f"{name}: {'; '.join(msgs)}" for name, msgs in exc.fields.items()) or exc.message
        raise click.ClickException(where) from None
    _print(report, file.name)
    if report.problems:
        raise SystemExit(1)


def add_commands(group: AppGroup) -> None:
    """Put the import commands on ``recall``'s command group (recall.web.cli)."""
    if "import-csv" not in group.commands:
        group.add_command(import_csv_cmd)


def _actor(clinic_id: int, staff_id: int | None) -> Actor:
    if staff_id is None:
        return Actor.system(clinic_id)
    with database().reader() as s:
        try:
            member = get_staff(s, clinic_id, staff_id)
        except RecallError as exc:
            raise click.ClickException(exc.message) from None
    if member.role is not Role.MANAGER or not member.active:
        raise click.ClickException(f"staff member {staff_id} is not an active manager of clinic {clinic_id}")
    return Actor(staff_id=member.id, clinic_id=clinic_id, role=member.role)


def _print(report: CsvReport, name: str) -> None:
    for problem in report.problems:
        column = problem.column or (f"({problem.field})" if problem.field else "(row)")
        click.echo(f"{name}:{problem.line}: {column}: {problem.reason}", err=True)
    counts = ", ".join(f"{result.value} {report.counts[result]}" for result in Result)
    done = "dry run, nothing written" if report.dry_run else "imported"
    click.echo(f"{report.rows} rows: {counts} ({done})")
