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
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from recall.clinic.patients import Language
from recall.common.errors import ValidationError
from recall.common.timeutil import validate_zone
from recall.common.timeutil import zone as zone_info

PLACEHOLDERS = ("clinic", "date", "time", "provider")
MAX_TEMPLATE_CHARS = 1600  # Twilio's limit for one message body
MAX_SEGMENTS = 2

SMS, VOICE = "sms", "voice"

DEFAULT_TEMPLATES: dict[str, dict[Language, str]] = {
    SMS: {
        Language.EN: "Reminder: your appointment at {clinic} on {date} at {time}. Reply 1 to confirm, 2 to cancel.",
        Language.PL: "Przypomnienie: {clinic}, {date} o {time}. Odpisz 1 – potwierdzam, 2 – odwołuję.",
        Language.RU: "Напоминание: {clinic}, {date} в {time}. Ответьте 1 — подтвердить, 2 — отменить.",
        Language.SV: "Påminnelse: din tid hos {clinic} {date} kl. {time}. Svara 1 för att bekräfta, 2 för att avboka.",
        Language.ZH: "提醒：您在{clinic}的预约时间为{date} {time}。回复1确认，回复2取消。",
    },
    VOICE: {
        Language.EN: "Hello. This is a reminder from {clinic} about your appointment on {date} at {time}. "
        "To confirm, press 1. To cancel, press 2. To speak with someone, press 3.",
        Language.PL: "Dzień dobry, tu {clinic}. Przypominamy o wizycie: {date}, godzina {time}. "
        "Aby potwierdzić, naciśnij 1. Aby odwołać, naciśnij 2. "
        "Aby porozmawiać z nami, naciśnij 3.",
        Language.RU: "Здравствуйте! Это {clinic}. Напоминаем о вашей записи: {date} в {time}. "
        "Чтобы подтвердить, нажмите 1. Чтобы отменить, нажмите 2. "
        "Чтобы поговорить с сотрудником, нажмите 3.",
        Language.SV: "Hej! Det här är en påminnelse från {clinic} om din tid {date} klockan {time}. "
        "För att bekräfta, tryck 1. För att avboka, tryck 2. För att prata med oss, tryck 3.",
        Language.ZH: "您好，这里是{clinic}。提醒您，您的预约时间为{date} {time}。确认请按1，取消请按2，人工服务请按3。",
    },
}

# Worst cases for check_template: realistic names of exactly 40 characters.
LONG_CLINIC_NAMES: dict[Language, str] = {
    Language.EN: "Riverside Family Dental & Implant Clinic",
    Language.PL: "Centrum Stomatologiczne Uśmiech Rodzinny",
    Language.RU: "Клиника семейной стоматологии «Улыбка-2»",
    Language.SV: "Tandläkarna på Södermalm Familjetandvård",
    Language.ZH: "北京市朝阳区望京街道社区卫生服务中心口腔科门诊部（第二分部·望京东园院区南一楼）",
}
LONG_PROVIDER_NAMES: dict[Language, str] = {
    Language.EN: "Dr Alexandra Montgomery-Fitzwilliam, DDS",
    Language.PL: "dr Agnieszka Brzęczyszczykiewicz-Nowicka",
    Language.RU: "Константинопольская Анастасия Викторовна",
    Language.SV: "Dr Ann-Charlotte Gyllenstierna Åkerström",
    Language.ZH: "欧阳慧敏主任医师（口腔修复科、口腔种植科、牙周病科联合门诊首席专家、主任、教授）",
}

_LOCALES: dict[Language, str] = {
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
_GSM_LANGUAGES = frozenset({Language.EN, Language.PL, Language.SV})  # can be written in GSM-7

# --- GSM 03.38 ---------------------------------------------------------------

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")  # escape + char: two septets each

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_CONCAT = {"GSM-7": 153, "UCS-2": 67}  # a 6-byte UDH leaves this much per part

# Look-alikes that sneak into texts pasted from word processors.
_GSM_HINTS = {"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> SegmentInfo:
    """How many SMS segments ``text`` costs.

    A single message holds 160 septets or 70 UTF-16 units; a concatenated one
    153 or 67 per part. A part never splits an escape sequence (``€`` is ESC +
    one septet) or a surrogate pair (an emoji), so packing is done greedily
    rather than by dividing. Even an empty body is sent as one segment.
    """
    if is_gsm(text):
        encoding, widths = "GSM-7", [2 if c in GSM_EXTENSION else 1 for c in text]
    else:
        encoding, widths = "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]
    units = sum(widths)
    if units <= _SINGLE[encoding]:
        return SegmentInfo(encoding, units, 1)
    limit, count, used = _CONCAT[encoding], 1, 0
    for width in widths:
        if used + width > limit:
            count, used = count + 1, 0
        used += width
    return SegmentInfo(encoding, units, count)


# --- validation --------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
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
    for match in _PLACEHOLDER.finditer(text):
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
    if re.search(r"[{}]", _PLACEHOLDER.sub("", text)):
        problems.append("has unbalanced braces: use { and } only around a placeholder such as {date}")
    if problems:
        raise ValidationError("; ".join(problems), field=field)
    return text


def placeholders(text: str) -> set[str]:
    """The placeholder names a (valid) template uses."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text)}


def _allowed(allow_provider: bool) -> tuple[str, ...]:
    return PLACEHOLDERS if allow_provider else PLACEHOLDERS[:-1]


def _is_forbidden_char(c: str) -> bool:
    category = unicodedata.category(c)
    return (category == "Cc" and c != "\n") or category == "Cs" or c in _BIDI


# --- rendering ---------------------------------------------------------------


def locale_for(language: Language, zone_name: str | None = None) -> str:
    """The Babel locale for a patient: en_US for American zones, en_GB for other English."""
    language = Language(language)
    if language is Language.EN and zone_name and zone_name.startswith(("America/", "US/")):
        return "en_US"
    return _LOCALES[language]


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
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _zone(name: str) -> ZoneInfo:
    return zone_info(validate_zone(name))


def _plain_spaces(text: str) -> str:
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def _plain_value(value: str) -> str:
    """A name as one line: controls and odd spaces become a plain space."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in value)
    return " ".join(cleaned.split())


# --- the manager's warnings --------------------------------------------------


def check_template(text: str, *, language: Language, allow_provider: bool, field: str = "template") -> list[str]:
    """Warnings for an SMS template that is valid but costly or odd.

    The segment count is for the worst case: a 40-character clinic name, the
    longest date and time the language produces (a Wednesday in September for
    English), and a 40-character provider name if the template uses it.
    """
    validate_template(text, allow_provider=allow_provider, field=field)
    language = Language(language)
    warnings: list[str] = []
    worst = worst_case_segments(text, language=language)
    if worst.segments > MAX_SEGMENTS:
        warnings.append(
            f"renders to {worst.segments} segments (encoding {worst.encoding}); more than "
            f"{MAX_SEGMENTS} segments costs more and may arrive split"
        )
    if language in _GSM_LANGUAGES:
        literal = _PLACEHOLDER.sub("", text)
        strays = list(dict.fromkeys(c for c in literal if not is_gsm(c)))
        if strays:
            shown = ", ".join(f"'{c}'" + (f" (use '{_GSM_HINTS[c]}')" if c in _GSM_HINTS else "") for c in strays)
            subject = f"characters {shown} force" if len(strays) > 1 else f"character {shown} forces"
            note = " (Polish diacritics are outside GSM-7)" if language is Language.PL else ""
            warnings.append(f"{subject} UCS-2 encoding{note}: 70 characters per SMS instead of 160")
    used = placeholders(text)
    for name in ("date", "time"):
        if name not in used:
            warnings.append(f"does not mention the {{{name}}} of the appointment")
    return warnings


def worst_case_segments(text: str, *, language: Language) -> SegmentInfo:
    """The costliest rendering of ``text`` over every date of a year in ``language``."""
    language = Language(language)
    locales = ("en_GB", "en_US") if language is Language.EN else (_LOCALES[language],)
    fixed = {"clinic": LONG_CLINIC_NAMES[language], "provider": LONG_PROVIDER_NAMES[language]}
    worst = SegmentInfo("GSM-7", 0, 0)
    for locale in locales:
        fixed["time"] = _longest_time(locale)
        for day in _date_strings(locale):
            values = {**fixed, "date": day}
            info = segments(_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text))
            if (info.segments, info.units) > (worst.segments, worst.units):
                worst = info
    return worst


@lru_cache(maxsize=16)
def _date_strings(locale: str) -> tuple[str, ...]:
    first = date(2026, 1, 1)  # every month holds every weekday within a year
    return tuple(dict.fromkeys(format_local_date(first + timedelta(days=n), locale) for n in range(365)))


@lru_cache(maxsize=16)
def _longest_time(locale: str) -> str:
    candidates = (format_local_time(time(hour, 45), locale) for hour in range(24))
    return max(candidates, key=lambda s: (not is_gsm(s), segments(s).units))
