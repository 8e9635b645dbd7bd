"""Imports: a clinic's patients or appointments from a CSV file, applied through the same use cases as the
rest of the API (a refused row leaves nothing; importing again changes nothing)."""

from __future__ import annotations

from typing import Any

from recall.common.errors import ValidationError
from recall.imports.csv_import import import_file, read_file
from recall.web.auth import manager_only
from recall.web.common import actor, clock, database, session
from recall.web.contract import may_answer
from recall.web.imports.schemas import CsvImportFormSchema, CsvImportSchema, report_of
from recall.web.imports.uploads import FORM_AND_FILES, MULTIPART, UploadBlueprint

# Rows one request imports: a request must end within the web server's timeout (a minute), and a row costs a
# use case's queries. Larger files go through the CLI (recall import-csv), which has no such limit.
MAX_ROWS = 2000

blp = UploadBlueprint("imports", __name__, description="Imports: patients and appointments from CSV files")


@blp.route("/imports/csv", methods=["POST"])
@may_answer(400, 413, 415, never=(409,))  # a refused row is in the answer, not a 409
@manager_only
@blp.arguments(CsvImportFormSchema, location=FORM_AND_FILES, content_type=MULTIPART)
@blp.response(200, CsvImportSchema)
def import_csv(form: dict[str, Any]) -> Any:
    """Import a CSV file of patients or appointments (multipart/form-data, at most 2,000 rows).

    The good rows are imported and every other row is answered in `problems` with its line, the file's column
    and the reason (a cell that does not read, or a record our rules refuse); `dry_run` checks every row as the
    import would and writes nothing. Times without an offset are the clinic's local time; phones are read in
    the clinic's phone region.
    """
    caller = actor()
    session().rollback()  # the token's check is done: the import's batches take the write lock themselves
    parsed = read_file(database(), caller, form["file"], form["kind"], form["mapping"])
    if parsed.rows > MAX_ROWS:
        raise ValidationError(
            f"has {parsed.rows} rows; at most {MAX_ROWS} go in one request: split it, or use recall import-csv",
            field="file",
        )
    return report_of(import_file(database(), clock(), caller, parsed, dry_run=form["dry_run"]))
