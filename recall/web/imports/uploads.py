"""A blueprint whose bodies may be files: ``multipart/form-data``, read as one set of arguments (the form's
fields and its files together, the ``form_and_files`` location), checked before it is read as the JSON bodies
are (recall.web.contract): another content type is a 415, no body a 400, both in the one error shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from recall.web.contract import Blueprint

F = TypeVar("F", bound=Callable[..., Any])
MULTIPART = "multipart/form-data"
FORM_AND_FILES = "form_and_files"


class UploadParser(FlaskParser):
    __location_map__ = {**FlaskParser.__location_map__, FORM_AND_FILES: "load_form_and_files"}

    def load_form_and_files(self, req: Any, schema: ma.Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class UploadBlueprint(Blueprint):
    ARGUMENTS_PARSER = UploadParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        FORM_AND_FILES: MULTIPART,
    }

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True, **kwargs: Any) -> Any:
        parse = super().arguments(schema, location=location, required=required, **kwargs)
        if location != FORM_AND_FILES:
            return parse

        def decorator(func: F) -> F:
            parsed = parse(func)

            @functools.wraps(parsed)
            def wrapper(*args: Any, **kw: Any) -> Any:
                require_multipart()
                return parsed(*args, **kw)

            return wrapper  # type: ignore[return-value]

        return decorator


def require_multipart() -> None:
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if has_body and request.mimetype != MULTIPART:
        shown = request.mimetype or "no content type"
        flask_smorest.abort(
            415,
            message=f"send the file as {MULTIPART}, not {shown}",
            messages={FORM_AND_FILES: {"body": [f"must be {MULTIPART}, not {shown}"]}},
        )
    if not has_body:
        flask_smorest.abort(400, messages={FORM_AND_FILES: {"body": [f"a {MULTIPART} body with the file is required"]}})


class File(Upload):
    """A file part of a multipart body (one with a filename), read as its bytes."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bytes:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("must be a file: a part of the form with a filename")
        return value.read()


class FormFlag(ma.fields.Boolean):
    """A form's yes or no, written true or false (a form's values are text)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"type": "boolean", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if value not in ("true", "false"):
            raise ma.ValidationError("must be true or false")
        return value == "true"
