"""Reminder texts: safe placeholders, rendering in the patient's language, SMS cost.

Why this module exists:

* A clinic manager edits the reminder text, so the text is untrusted input. It
  may name only ``{clinic}``, ``{date}``, ``{time}`` and, where the clinic
  allows it, ``{provider}``: an SMS carries no service name or diagnosis. We
  never hand a template to ``str.format`` (``{clinic.__class__}`` and friends
  would reach into Python objects); a strict regex finds the placeholders and
  each is replaced by a plain string in one pass, so a brace inside a clinic
  name is never read as a placeholder.
* The date and time are rendered with Babel in the patient's language and local
  zone (``zoneinfo``, so DST is right). We use explicit CLDR patterns, weekday +
  day + month without the year (a reminder is for the coming days; the year
  costs characters and adds nothing): en "Monday 30 March", pl "poniedziałek,
  30 marca", ru "понедельник, 30 марта", sv "måndag 30 mars", zh "3月30日星期一".
  Babel's skeleton matcher would abbreviate the weekday in some locales, hence
  patterns. Times use the locale's short format. English is en_GB (24-hour
  clock), except for zones under ``America/`` and ``US/``, which get en_US
  ("Monday, March 30", "9:15 AM"). Polish and Russian texts are written so the
  date stands alone after a comma (no preposition), because a weekday after
  "w"/"в" would need the accusative ("w środę"), which CLDR does not give.
* CLDR puts narrow no-break spaces (U+202F) in times such as "9:15 AM" and in
  "2026 г."; one such character would push a whole English SMS into UCS-2
  (70 characters a segment instead of 160). Rendered values get plain spaces.
* SMS are billed per segment, so ``segments`` counts them the way GSM 03.38 and
  the carriers do, and ``check_template`` warns a manager about the worst case.

The modules: ``texts`` (the built-in texts and the limits), ``gsm`` (GSM 03.38 segments), ``validation``,
``rendering`` and ``checks`` (the manager's warnings); what the rest of recall uses is imported here.
"""

from recall.reminders.templates.checks import (
    LONG_CLINIC_NAMES,
    LONG_PROVIDER_NAMES,
    check_template,
    worst_case_segments,
)
from recall.reminders.templates.gsm import SegmentInfo, is_gsm, segments
from recall.reminders.templates.rendering import format_local_date, format_local_time, locale_for, render
from recall.reminders.templates.texts import (
    DEFAULT_TEMPLATES,
    MAX_SEGMENTS,
    MAX_TEMPLATE_CHARS,
    PLACEHOLDERS,
    SMS,
    VOICE,
)
from recall.reminders.templates.validation import placeholders, validate_template

__all__ = [
    "DEFAULT_TEMPLATES",
    "LONG_CLINIC_NAMES",
    "LONG_PROVIDER_NAMES",
    "MAX_SEGMENTS",
    "MAX_TEMPLATE_CHARS",
    "PLACEHOLDERS",
    "SMS",
    "VOICE",
    "SegmentInfo",
    "check_template",
    "format_local_date",
    "format_local_time",
    "is_gsm",
    "locale_for",
    "placeholders",
    "render",
    "segments",
    "validate_template",
    "worst_case_segments",
]
