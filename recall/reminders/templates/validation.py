"""Whether a reminder template is safe: a manager edits it, so it is untrusted input.

It may name only ``{clinic}``, ``{date}``, ``{time}`` and, where the clinic allows it, ``{provider}``: an SMS
carries no service name or diagnosis. A placeholder carries no format, conversion, attribute or index (a
template is never handed to ``str.format``: ``{clinic.__class__}`` and friends would reach into Python objects),
and control and bidirectional-override characters are refused.
"""

from __future__ import annotations

import re
import unicodedata

from recall.common.errors import ValidationError
from recall.reminders.templates.texts import MAX_TEMPLATE_CHARS, PLACEHOLDERS

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def validate_template(text: str, *, allow_provider: bool, field: str = "template") -> str:
    """Return ``text`` if it is a safe reminder template, else raise naming every problem."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("must not be empty", field=field)
    problems: list[str] = []
    if len(text) > MAX_TEMPLATE_CHARS:
        problems.append(f"is {len(text)} characters long; the limit is {MAX_TEMPLATE_CHARS}")
    bad = sorted({c for c in text if _is_forbidden_char(c)})
    if bad:
        problems.append("contains control characters: " + ", ".join(f"U+{ord(c):04X}" for c in bad))
    for match in PLACEHOLDER.finditer(text):
        inner = match.group(1)
        head = _NAME.match(inner)
        if head and head.group(0) in PLACEHOLDERS and head.end() < len(inner):
            problems.append(
                f"placeholder {match.group(0)} may not carry a format, conversion, "
                f"attribute or index; write {{{head.group(0)}}}"
            )
        elif inner not in PLACEHOLDERS:
            problems.append(
                f"unknown placeholder {match.group(0)}; allowed: "
                + ", ".join(f"{{{p}}}" for p in _allowed(allow_provider))
            )
        elif inner == "provider" and not allow_provider:
            problems.append(
                "placeholder {provider} is not allowed: the clinic does not share the provider's name in reminders"
            )
    if re.search(r"[{}]", PLACEHOLDER.sub("", text)):
        problems.append("has unbalanced braces: use { and } only around a placeholder such as {date}")
    if problems:
        raise ValidationError("; ".join(problems), field=field)
    return text


def placeholders(text: str) -> set[str]:
    """The placeholder names a (valid) template uses."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


def _allowed(allow_provider: bool) -> tuple[str, ...]:
    return PLACEHOLDERS if allow_provider else PLACEHOLDERS[:-1]


def _is_forbidden_char(c: str) -> bool:
    category = unicodedata.category(c)
    return (category == "Cc" and c != "\n") or category == "Cs" or c in _BIDI
