"""Rendering a reminder in the patient's language and local zone.

A strict regex finds the placeholders and each is replaced by a plain string in one pass, so a brace inside a
clinic name is never read as a placeholder. The date and time are rendered with Babel with explicit CLDR
patterns (see the package's docstring), and rendered values get plain spaces: CLDR's narrow no-break spaces
would push a whole English SMS into UCS-2.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from recall.clinic.patients import Language
from recall.common.errors import ValidationError
from recall.common.timeutil import validate_zone
from recall.common.timeutil import zone as zone_info
from recall.reminders.templates.validation import PLACEHOLDER, placeholders, validate_template

LOCALES: dict[Language, str] = {
    Language.EN: "en_GB",
    Language.PL: "pl_PL",
    Language.RU: "ru_RU",
    Language.SV: "sv_SE",
    Language.ZH: "zh_Hans_CN",
}

_DATE_PATTERNS: dict[str, str] = {
    "en_GB": "EEEE d MMMM",
    "en_US": "EEEE, MMMM d",
    "pl_PL": "EEEE, d MMMM",
    "ru_RU": "EEEE, d MMMM",
    "sv_SE": "EEEE d MMMM",
    "zh_Hans_CN": "M月d日EEEE",
}


def locale_for(language: Language, zone_name: str | None = None) -> str:
    """The Babel locale for a patient: en_US for American zones, en_GB for other English."""
    language = Language(language)
    if language is Language.EN and zone_name and zone_name.startswith(("America/", "US/")):
        return "en_US"
    return LOCALES[language]


# A worker renders the same few days and appointment times in the same few locales all day: each
# distinct one is formatted by Babel once.
@lru_cache(maxsize=4096)
def format_local_date(day: date, locale: str) -> str:
    return _plain_spaces(format_date(day, _DATE_PATTERNS[locale], locale=locale))


def format_local_time(clock: time, locale: str) -> str:
    return _short_time(clock.replace(second=0, microsecond=0), locale)  # "short" shows hours and minutes


@lru_cache(maxsize=4096)
def _short_time(clock: time, locale: str) -> str:
    return _plain_spaces(format_time(clock, "short", locale=locale))


@lru_cache(maxsize=1024)
def _checked(text: str, allow_provider: bool) -> str:
    """A template checked once per text (an invalid one raises every time: errors are not cached)."""
    return validate_template(text, allow_provider=allow_provider)


def render(
    text: str,
    *,
    language: Language,
    clinic_name: str,
    start_at: datetime,
    zone: str,
    provider_name: str | None = None,
    allow_provider: bool = False,
) -> str:
    """The reminder for a visit starting at ``start_at`` (aware, UTC) in the patient's zone."""
    _checked(text, allow_provider)
    if start_at.tzinfo is None or start_at.utcoffset() is None:
        raise ValueError("start_at must be an aware datetime (UTC)")
    locale = locale_for(language, zone)
    local = start_at.astimezone(_zone(zone))
    values = {
        "clinic": _plain_value(clinic_name),
        "date": format_local_date(local.date(), locale),
        "time": format_local_time(local.time(), locale),
    }
    if "provider" in placeholders(text):
        if not provider_name or not provider_name.strip():
            raise ValidationError("the template names the provider but the visit has none", field="provider_name")
        values["provider"] = _plain_value(provider_name)
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _zone(name: str) -> ZoneInfo:
    return zone_info(validate_zone(name))


def _plain_spaces(text: str) -> str:
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def _plain_value(value: str) -> str:
    """A name as one line: controls and odd spaces become a plain space."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in value)
    return " ".join(cleaned.split())
