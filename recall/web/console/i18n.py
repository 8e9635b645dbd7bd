"""The console's languages: Flask-Babel with one catalog per console package (``translations/`` beside each
blueprint), the signed-in member's language, and dates, times, numbers and money in that locale and the
clinic's zone.

The catalogs are ``.po`` files in the repository (``catalog_files``): ``setup.py`` compiles them to ``.mo`` at
install, and the app compiles at start whatever changed since.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, g, request
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    get_translations,
)

from recall.web.console.catalog_files import CATALOG_DIRS, LANGUAGE_NAMES, LANGUAGES, compile_catalogs


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


def _translations() -> Any:
    """This request's catalog, looked up once: a page says a hundred words, and Flask-Babel finds the domain,
    the locale and the cache entry again for each one."""
    locale = get_locale()
    held = g.get("console_translations")
    if held is None or held[0] is not locale:
        held = g.console_translations = (locale, get_translations())
    return held[1]


def _gettext(string: str) -> str:
    return _translations().ugettext(string)  # Jinja's newstyle gettext fills the %(placeholders)s itself


def _ngettext(singular: str, plural: str, num: int) -> str:
    return _translations().ungettext(singular, plural, num)


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in CATALOG_DIRS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=_locale, timezone_selector=_timezone)
    app.jinja_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.filters.update(money=money, when=when, day=day, clock_time=clock_time, number=number)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES, get_locale=get_locale)
