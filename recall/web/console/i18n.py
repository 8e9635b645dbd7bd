"""The console's languages: Flask-Babel with one catalog per console package (``translations/`` beside each
blueprint), the signed-in member's language, and dates, times, numbers and money in that locale and the
clinic's zone.

The catalogs are ``.po`` files in the repository; ``setup.py`` compiles them to ``.mo`` at install, and
``compile_catalogs`` does the same for a checkout whose catalogs changed since (the app calls it at start,
compiling only what is out of date).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import Babel, format_currency, format_date, format_datetime, format_decimal, format_time, get_locale

LANGUAGES = ("en", "pl", "ru", "sv", "zh")
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "ru": "Русский", "sv": "Svenska", "zh": "中文"}
CONSOLE = Path(__file__).parent
#: Every console package's catalog folder; each blueprint keeps the words of its own templates and views.
CATALOG_DIRS = [CONSOLE / "translations"] + [
    CONSOLE / part / "translations" for part in ("access", "operator", "frontdesk", "manager", "manager/team")
]


def compile_catalogs(dirs: list[Path] | None = None) -> list[Path]:
    """Compile every ``.po`` under ``dirs`` whose ``.mo`` is missing or older; the files written."""
    written = []
    for folder in dirs or CATALOG_DIRS:
        for po in folder.glob("*/LC_MESSAGES/messages.po"):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            partial = mo.with_name(f"messages.mo.{os.getpid()}")
            try:
                with partial.open("wb") as target:
                    write_mo(target, catalog, use_fuzzy=False)
                os.replace(partial, mo)  # another process compiling at once writes the same bytes
            except OSError:  # an installed, read-only package: its catalogs were compiled at install
                partial.unlink(missing_ok=True)
                continue
            written.append(mo)
    return written


def _locale() -> str:
    chosen = g.get("console_language")
    if chosen in LANGUAGES:
        return chosen
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _timezone() -> str:
    clinic = g.get("console_clinic")
    return clinic.timezone if clinic is not None else "UTC"


def money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    clinic = g.get("console_clinic")
    return format_currency(amount, currency or (clinic.currency if clinic is not None else "EUR"))


def when(value: datetime | None, style: str = "short") -> str:
    return "" if value is None else format_datetime(value, style)


def day(value: date | datetime | None, style: str = "medium") -> str:
    return "" if value is None else format_date(value, style)


def clock_time(value: datetime | None) -> str:
    return "" if value is None else format_time(value, "short")


def number(value: Any, digits: int | None = None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format=None if digits is None else "#,##0." + "0" * digits if digits else "#,##0")


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in CATALOG_DIRS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=_locale, timezone_selector=_timezone)
    app.jinja_env.filters.update(money=money, when=when, day=day, clock_time=clock_time, number=number)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES, get_locale=get_locale)
