from __future__ import annotations

import json
from typing import Any

import marshmallow as ma

from recall.imports.csv_fields import KINDS
from recall.imports.csv_import import CsvReport
from recall.imports.records import Result
from recall.web.common import Input, Output
from recall.web.imports.uploads import File, FormFlag

MAX_MAPPING = 10_000  # characters of the mapping's JSON
FIELDS_OF = "; ".join(f"{kind}: {', '.join(f.name for f in fields)}" for kind, fields in KINDS.items())


class ColumnMapping(ma.fields.Field):
    """The mapping as the form carries it: a JSON object, our field -> the file's header."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "type": "string",
            "example": '{"full_name": "Name", "phone": "Tel"}',
            "description": "a JSON object, our field -> the file's header, for the fields whose column has another "
            f"name than the usual ones ({FIELDS_OF})",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, str]:
        if not isinstance(value, str) or len(value) > MAX_MAPPING:
            raise ma.ValidationError(f"must be a JSON object of at most {MAX_MAPPING} characters")
        try:
            mapping = json.loads(value) if value.strip() else {}
        except (ValueError, RecursionError):
            raise ma.ValidationError(
                'must be a JSON object of our fields and your headers, such as "full_name": "Name"'
            ) from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise ma.ValidationError("must map each field to a header (text)")
        return mapping


class CsvImportFormSchema(Input):
    file = File(required=True, metadata={"description": "the CSV file, UTF-8 (with or without a BOM)"})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(KINDS)))
    mapping = ColumnMapping(load_default=None)
    dry_run = FormFlag(
        load_default=False, metadata={"description": "true: check every row as the import would, write nothing"}
    )


class CsvProblemSchema(Output):
    line = ma.fields.Integer(metadata={"description": "the file's line the row starts on (the header is line 1)"})
    column = ma.fields.String(allow_none=True, metadata={"description": "the file's header; null: the whole row"})
    field = ma.fields.String(allow_none=True, metadata={"description": "our field; null: the whole row"})
    reason = ma.fields.String()


class CsvCountsSchema(Output):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    refused = ma.fields.Integer(metadata={"description": "rows not imported: each is in problems"})


class CsvImportSchema(Output):
    kind = ma.fields.String()
    dry_run = ma.fields.Boolean()
    rows = ma.fields.Integer(metadata={"description": "the file's rows, blank lines aside"})
    counts = ma.fields.Nested(CsvCountsSchema)
    problems = ma.fields.List(ma.fields.Nested(CsvProblemSchema))


def report_of(report: CsvReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "dry_run": report.dry_run,
        "rows": report.rows,
        "counts": {result.value: report.counts[result] for result in Result},
        "problems": [
            {"line": p.line, "column": p.column, "field": p.field, "reason": p.reason} for p in report.problems
        ],
    }
