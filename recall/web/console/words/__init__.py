"""The domain's refusals in the member's language.

The domain (``recall.clinic``, ``visits``, ``queue``, ``reminders``, ``credit``, ``common``) and the JSON API's
marshmallow schemas say why they refuse an input in English, and the API answers so: integrations parse those
messages. The console shows the same messages beside its fields, in the language the member picked: ``say``
looks each one up in this package's catalog, whose msgids are the English messages themselves
(``python -m tools.catalogs`` extracts them from the domain's error classes, the schemas' validators and
marshmallow's own messages). A message the catalog does not hold (one built with an f-string, naming an id or a
number) stays as the domain wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext


def say(message: str) -> str:
    """``message`` in the signed-in member's language, or as it is when the catalog does not hold it."""
    if not message:
        return message
    return gettext(message)


def say_all(fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Each field's messages in the member's language."""
    return {name: [say(message) for message in messages] for name, messages in fields.items()}
