"""What the team pages share: reading a form through the API's own schema, so that the console accepts exactly
what the API does, with each problem under the form field it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma


def load(schema: ma.Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``schema``'s loaded data and no errors, or nothing and the messages per field."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as wrong:
        messages = wrong.messages if isinstance(wrong.messages, dict) else {"_form": wrong.messages}
        return {}, {str(name): [str(m) for m in _flat(found)] for name, found in messages.items()}


def _flat(found: Any) -> list[Any]:
    if isinstance(found, dict):
        return [m for value in found.values() for m in _flat(value)]
    return list(found) if isinstance(found, (list, tuple)) else [found]
