"""Reading one CSV cell as the value a record holds: days, times, statuses, channels.

A time written with an offset (``2026-03-05T13:00+01:00``, ``...Z``) is that instant; one written without is
the clinic's wall-clock time, read in the clinic's zone. A local time the zone skips (the hour the clocks jump
forward) or has twice (the hour they go back) names no single instant, so it is refused, asking for an offset.
Days are ``YYYY-MM-DD`` (or ``DD.MM.YYYY``, ``YYYY/MM/DD``). Each reader raises ``ValueError`` with the reason.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from recall.common.text import UNSTORABLE
from recall.common.timeutil import zone
from recall.imports.records import AppointmentState
from recall.visits.booking import Channel

_DOTTED_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SLASHED_DAY = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_DOTTED_TIME = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_SLASHED_TIME = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
DAY_FORMS = "YYYY-MM-DD or DD.MM.YYYY"
TIME_FORMS = "YYYY-MM-DD HH:MM (the clinic's time), or with an offset: 2026-03-05T13:00+01:00"

STATES: dict[str, AppointmentState] = {state.value: state for state in AppointmentState} | {
    "": AppointmentState.BOOKED,
    "scheduled": AppointmentState.BOOKED,
    "confirmed": AppointmentState.BOOKED,
    "canceled": AppointmentState.CANCELLED,
    "no_show": AppointmentState.NOSHOW,
    "missed": AppointmentState.NOSHOW,
    "checked_in": AppointmentState.ARRIVED,
    "attended": AppointmentState.FULFILLED,
    "completed": AppointmentState.FULFILLED,
    "finished": AppointmentState.FULFILLED,
}
CHANNELS: dict[str, Channel] = {channel.value: channel for channel in Channel} | {
    "desk": Channel.IN_PERSON,
    "in_clinic": Channel.IN_PERSON,
    "telephone": Channel.PHONE,
    "call": Channel.PHONE,
    "text": Channel.SMS,
    "web": Channel.ONLINE,
    "internet": Channel.ONLINE,
}


def text(raw: str) -> str:
    if UNSTORABLE.search(raw):
        raise ValueError("holds a character no database can store (NUL or a broken surrogate)")
    return raw.strip()


def day(raw: str) -> date:
    value = raw.strip()
    for pattern, order in ((_DOTTED_DAY, (2, 1, 0)), (_SLASHED_DAY, (0, 1, 2))):
        match = pattern.fullmatch(value)
        if match:
            parts = [int(g) for g in match.groups()]
            return _date(parts[order[0]], parts[order[1]], parts[order[2]], value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"is not a day ('{value}'): write {DAY_FORMS}") from None


def instant(raw: str, zone_name: str) -> datetime:
    value = raw.strip()
    parsed = _written_time(value)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return _local(parsed, zone_name, value)


def state(raw: str) -> AppointmentState:
    key = _key(raw)
    if key not in STATES:
        named = ", ".join(s.value for s in AppointmentState)
        raise ValueError(f"is not an appointment status ('{raw.strip()}'): write one of {named}")
    return STATES[key]


def channel(raw: str) -> Channel | None:
    key = _key(raw)
    if not key:
        return None
    if key not in CHANNELS:
        raise ValueError(f"is not a channel ('{raw.strip()}'): write one of {', '.join(c.value for c in Channel)}")
    return CHANNELS[key]


def _written_time(value: str) -> datetime:
    for pattern, order in ((_DOTTED_TIME, (2, 1, 0)), (_SLASHED_TIME, (0, 1, 2))):
        match = pattern.fullmatch(value)
        if match:
            parts = [int(g) if g else 0 for g in match.groups()]
            year, month, mday = parts[order[0]], parts[order[1]], parts[order[2]]
            try:
                return datetime(year, month, mday, parts[3], parts[4], parts[5])
            except ValueError:
                raise ValueError(f"is not a time ('{value}'): write {TIME_FORMS}") from None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"is not a time ('{value}'): write {TIME_FORMS}") from None


def _local(naive: datetime, zone_name: str, written: str) -> datetime:
    tz = zone(zone_name)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != naive:
            raise ValueError(
                f"'{written}' does not exist in {zone_name} (the clocks jump forward then): write it with an offset"
            )
        raise ValueError(f"'{written}' happens twice in {zone_name} (the clocks go back then): write it with an offset")
    return first.astimezone(UTC)


def _date(year: int, month: int, mday: int, written: str) -> date:
    try:
        return date(year, month, mday)
    except ValueError:
        raise ValueError(f"is not a day ('{written}'): write {DAY_FORMS}") from None


def _key(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().casefold())
