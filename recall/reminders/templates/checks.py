"""The manager's warnings: a template that is valid but costly or odd (more than two segments in the worst case,
a character that forces UCS-2, no date or time), told when the policy is saved.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from functools import lru_cache

from recall.clinic.patients import Language
from recall.reminders.templates.gsm import GSM_HINTS, SegmentInfo, is_gsm, segments
from recall.reminders.templates.rendering import LOCALES, format_local_date, format_local_time
from recall.reminders.templates.texts import MAX_SEGMENTS
from recall.reminders.templates.validation import PLACEHOLDER, placeholders, validate_template

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

_GSM_LANGUAGES = frozenset({Language.EN, Language.PL, Language.SV})  # can be written in GSM-7


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
        literal = PLACEHOLDER.sub("", text)
        strays = list(dict.fromkeys(c for c in literal if not is_gsm(c)))
        if strays:
            shown = ", ".join(f"'{c}'" + (f" (use '{GSM_HINTS[c]}')" if c in GSM_HINTS else "") for c in strays)
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
    locales = ("en_GB", "en_US") if language is Language.EN else (LOCALES[language],)
    fixed = {"clinic": LONG_CLINIC_NAMES[language], "provider": LONG_PROVIDER_NAMES[language]}
    worst = SegmentInfo("GSM-7", 0, 0)
    for locale in locales:
        fixed["time"] = _longest_time(locale)
        for day in _date_strings(locale):
            info = segments(_filled(text, {**fixed, "date": day}))
            if (info.segments, info.units) > (worst.segments, worst.units):
                worst = info
    return worst


def _filled(text: str, values: dict[str, str]) -> str:
    """``text`` with the placeholders ``values`` names filled in (any other left as written)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@lru_cache(maxsize=16)
def _date_strings(locale: str) -> tuple[str, ...]:
    first = date(2026, 1, 1)  # every month holds every weekday within a year
    return tuple(dict.fromkeys(format_local_date(first + timedelta(days=n), locale) for n in range(365)))


@lru_cache(maxsize=16)
def _longest_time(locale: str) -> str:
    candidates = (format_local_time(time(hour, 45), locale) for hour in range(24))
    return max(candidates, key=lambda s: (not is_gsm(s), segments(s).units))
