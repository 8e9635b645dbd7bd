"""Zones, local days and calling hours. Instants are UTC; zones are IANA names."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from recall.common.clock import UTC
from recall.common.errors import ValidationError


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def validate_zone(name: str, field: str = "timezone") -> str:
    if not name or name not in _known_zones():
        raise ValidationError(f"'{name}' is not an IANA time zone name (for example Europe/Warsaw)", field=field)
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"'{name}' is not an IANA time zone name", field=field) from None
    return name


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def local_day(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(zone(zone_name)).date()


def at_local(day: date, minute_of_day: int, zone_name: str) -> datetime:
    """The UTC instant of ``day`` at ``minute_of_day`` wall-clock time in ``zone_name``.

    A wall time that does not exist (spring forward) resolves forward, one that
    happens twice (fall back) resolves to the first occurrence, as zoneinfo does.
    """
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minute_of_day)
    return naive.replace(tzinfo=zone(zone_name)).astimezone(UTC)


def month_range(today: date) -> tuple[date, date]:
    """First and last day of the calendar month containing ``today``."""
    first = today.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def parse_hhmm(value: str, field: str) -> int:
    """'09:30' -> 570 minutes after midnight; '24:00' allowed as the end of day."""
    try:
        hh, mm = value.split(":")
        hours, minutes = int(hh), int(mm)
    except (ValueError, AttributeError):
        raise ValidationError("must be a time of day as HH:MM", field=field) from None
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise ValidationError("must be a time of day between 00:00 and 24:00", field=field)
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
