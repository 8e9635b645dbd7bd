"""Calling hours: which IANA zones are inside a clinic's calling hours right now.

A patient is handed out only while the local time in their zone (or the clinic's, when
theirs is unknown) is inside the clinic's weekday or weekend calling hours.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime
from typing import Protocol


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    """Every IANA zone, held strongly: ZoneInfo's own cache is small, and re-reading tzdata is slow."""
    zones = []
    for name in sorted(zoneinfo.available_timezones()):
        try:
            zones.append((name, zoneinfo.ZoneInfo(name)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # pragma: no cover - a broken tzdata entry
            continue
    return tuple(zones)


@functools.lru_cache(maxsize=64)
def _zones_open(hours: tuple[int, int, int, int], minute: int) -> tuple[str, ...]:
    now = datetime.fromtimestamp(minute * 60, tz=UTC)
    open_zones = []
    for name, zone in _all_zones():
        local = now.astimezone(zone)
        start, end = (hours[2], hours[3]) if local.weekday() >= 5 else (hours[0], hours[1])
        if start <= local.hour * 60 + local.minute < end:
            open_zones.append(name)
    return tuple(open_zones)


class CallingHours(Protocol):
    """A clinic's calling hours, as the claim reads them (a Clinic, or the claim's own read of its row)."""

    @property
    def timezone(self) -> str: ...
    @property
    def calling_weekday_start(self) -> int: ...
    @property
    def calling_weekday_end(self) -> int: ...
    @property
    def calling_weekend_start(self) -> int: ...
    @property
    def calling_weekend_end(self) -> int: ...


def zones_in_calling_hours(clinic: CallingHours, now: datetime) -> tuple[str, ...]:
    """Every IANA zone whose local time is inside the clinic's calling hours right now.

    Computed once a minute per set of hours; a patient's zone (or the clinic's, when
    the patient's is unknown) must be in it for the patient to be handed out.
    """
    hours = (
        clinic.calling_weekday_start,
        clinic.calling_weekday_end,
        clinic.calling_weekend_start,
        clinic.calling_weekend_end,
    )
    return _zones_open(hours, int(now.timestamp() // 60))


def in_calling_hours(clinic: CallingHours, zone: str | None, at: datetime) -> bool:
    return (zone or clinic.timezone) in zones_in_calling_hours(clinic, at)
