"""Tables as CSV downloads, the same for the API's exports and the console's tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Response


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """A table as a CSV download (UTF-8 with a BOM, so spreadsheet programs read every language right).
    A cell starting with = + - @ is prefixed with ' so that no spreadsheet runs it as a formula."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
