"""What the team pages share: reading a form through the API's own schema, so that the console accepts exactly
what the API does, with each problem under the form field it names, in the manager's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

#: What each field of the team's forms needs, said in the manager's language (the API's schema and the domain
#: say it in English: each of these fields has only the one kind of problem).
PROBLEMS: dict[str, Callable[[], str]] = {
    "name": lambda: _("Enter a name of 1 to 200 characters."),
    "role": lambda: _("Choose a role."),
    "email": lambda: _("Enter an email address such as name@clinic.example."),
    "label": lambda: _("Use at most 100 characters."),
    "active": lambda: _("You cannot deactivate yourself."),
}


def translated(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``errors`` with the message of each field the team's forms know replaced by the manager's language's."""
    return {name: [PROBLEMS[name]()] if name in PROBLEMS else messages for name, messages in errors.items()}


def load(schema: ma.Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``schema``'s loaded data and no errors, or nothing and the messages per field."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as wrong:
        messages = wrong.messages if isinstance(wrong.messages, dict) else {"_form": wrong.messages}
        return {}, translated({str(name): [str(m) for m in _flat(found)] for name, found in messages.items()})


def _flat(found: Any) -> list[Any]:
    if isinstance(found, dict):
        return [m for value in found.values() for m in _flat(value)]
    return list(found) if isinstance(found, (list, tuple)) else [found]
