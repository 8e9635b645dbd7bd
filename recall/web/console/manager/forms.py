"""From the office's HTML forms to the documents the API's schemas and the domain's use cases take.

A form field is named by the dotted path the domain uses for it (``steps.0.offset_minutes``), so a message the
domain (or the API's schema) names a field with lands beside that field. Text becomes the JSON type the API
would get (a whole number, a number, true/false, null); text that is no number is a message on its field, and
the document is then not sent anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

Errors = dict[str, list[str]]


class Reader:
    """Reads typed values out of a submitted form and collects the messages of those that are not."""

    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form
        self.errors: Errors = {}

    def text(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    def has(self, name: str) -> bool:
        return bool(self.text(name))

    def optional_text(self, name: str) -> str | None:
        return self.text(name) or None

    def checked(self, name: str) -> bool:
        return name in self.form

    def integer(self, name: str, *, blank: Any = None) -> Any:
        return self._number(name, int, _("must be a whole number"), blank)

    def decimal(self, name: str, *, blank: Any = None) -> Any:
        return self._number(name, float, _("must be a number"), blank)

    def _number(self, name: str, kind: Callable[[str], Any], message: str, blank: Any) -> Any:
        raw = self.text(name).replace(",", ".") if kind is float else self.text(name)
        if not raw:
            return blank
        try:
            value = kind(raw)
        except ValueError:
            self.errors.setdefault(name, []).append(message)
            return blank
        if kind is float and value != value or value in (float("inf"), float("-inf")):
            self.errors.setdefault(name, []).append(message)
            return blank
        return value

    def indexes(self, prefix: str) -> list[int]:
        """The row numbers the form sent under ``prefix`` (``steps`` → 0, 1, 2 from ``steps.N.*``), in order."""
        found: set[int] = set()
        for key in self.form:
            if key.startswith(prefix + "."):
                head = key[len(prefix) + 1 :].split(".", 1)[0]
                if head.isdigit() and len(head) < 4:
                    found.add(int(head))
        return sorted(found)


def flatten(messages: Any, prefix: str = "") -> Errors:
    """marshmallow's nested messages as ``{dotted.path: [messages]}``; a schema-level one under ``_form``."""
    flat: Errors = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = "_form" if key == "_schema" else f"{prefix}{key}" if prefix else str(key)
            for path, items in flatten(value, name + ".").items():
                flat.setdefault(path, []).extend(items)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix.rstrip(".") or "_form"] = list(messages)
    elif isinstance(messages, str):
        flat[prefix.rstrip(".") or "_form"] = [messages]
    return flat


def load(schema: ma.Schema, document: Any, prefix: str = "") -> tuple[Any, Errors]:
    """The API's schema loading ``document`` as the API would; its messages keyed by the form's field names."""
    try:
        return schema.load(document), {}
    except ma.ValidationError as exc:
        return None, flatten(exc.messages, prefix)


def renamed(errors: Errors, paths: Mapping[str, str]) -> Errors:
    """Messages under the form's names: ``paths`` maps a document's path prefix (``steps.0``) to the form's
    (``steps.2``, when the rows above were left blank); the longest prefix wins."""
    ordered = sorted(paths, key=len, reverse=True)
    out: Errors = {}
    for name, messages in errors.items():
        for prefix in ordered:
            if name == prefix or name.startswith(prefix + "."):
                name = paths[prefix] + name[len(prefix) :]
                break
        out.setdefault(name, []).extend(messages)
    return out


def merge(*many: Errors) -> Errors:
    out: Errors = {}
    for errors in many:
        for name, messages in errors.items():
            out.setdefault(name, []).extend(messages)
    return out
