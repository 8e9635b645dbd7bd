"""The domain's refusals in the member's language.

The domain (``recall.clinic``, ``visits``, ``queue``, ``reminders``, ``credit``, ``common``) and the JSON API's
marshmallow schemas say why they refuse an input in English, and the API answers so: integrations parse those
messages. The console shows the same messages beside its fields, in the language the member picked: ``say``
looks each one up in this package's catalog, whose msgids are the English messages themselves
(``python -m tools.catalogs`` extracts them from the domain's error classes, the schemas' validators and
marshmallow's own messages). A message the catalog does not hold (one built with an f-string, naming an id or a
number) stays as the domain wrote it, unless it is a literal with its detail in closing parentheses: then the
literal is said in the member's language and the detail kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext

#: A message said as a literal and, in closing parentheses, its detail (an id, a status, a time).
WITH_DETAIL = re.compile(r"(.+) \(([^()]*)\)", re.DOTALL)


def say(message: str) -> str:
    """``message`` in the signed-in member's language, or as it is when the catalog does not hold it. A message
    with its detail in closing parentheses ("... at an overlapping time (booking 12)") has its literal said in
    the member's language and its detail kept."""
    if not message:
        return message
    said = gettext(message)
    if said != message:
        return said
    found = WITH_DETAIL.fullmatch(message)
    if found is None:
        return message
    literal = gettext(found.group(1))
    return message if literal == found.group(1) else f"{literal} ({found.group(2)})"


def say_all(fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Each field's messages in the member's language."""
    return {name: [say(message) for message in messages] for name, messages in fields.items()}
