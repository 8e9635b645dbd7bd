"""Imports: a clinic's patients or appointments from a CSV file, applied through the same use cases as the
rest of the API (a refused row leaves nothing; importing again changes nothing)."""

from __future__ import annotations

from typing import Any

from recall.imports.csv_import import import_file, read_file
from recall.web.auth import manager_only
from recall.web.common import actor, clock, database, session
from recall.web.contract import may_answer
from recall.web.imports.schemas import CsvImportFormSchema, CsvImportSchema, report_of
from recall.web.imports.uploads import FORM_AND_FILES, MULTIPART, UploadBlueprint

MAX_BYTES = 8 * 1024 * 1024  # a CSV file; larger ones go through the CLI (recall import-csv)

blp = UploadBlueprint(
    "imports", __name__, description="Imports: patients and appointments from CSV files", max_bytes=MAX_BYTES
)


@blp.route("/imports/csv", methods=["POST"])
@may_answer(400, 413, 415, never=(409,))  # a refused row is in the answer, not a 409
@manager_only
@blp.arguments(CsvImportFormSchema, location=FORM_AND_FILES, content_type=MULTIPART)
@blp.response(200, CsvImportSchema)
def import_csv(form: dict[str, Any]) -> Any:
    """Import a CSV file of patients or appointments (multipart/form-data, at most 8 MiB).

    The good rows are imported and every other row is answered in `problems` with its line, the file's column
    and the reason (a cell that does not read, or a record our rules refuse); `dry_run` checks every row as the
    import would and writes nothing. Times without an offset are the clinic's local time; phones are read in
    the clinic's phone region.
    """
    caller = actor()
    session().rollback()  # the token's check is done: the import's batches take the write lock themselves
    parsed = read_file(database(), caller, form["file"], form["kind"], form["mapping"])
    return report_of(import_file(database(), clock(), caller, parsed, dry_run=form["dry_run"]))
