"""What every resource uses: the request's session, clock and actor, and paging."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from sqlalchemy.orm import Session

from recall.clinic.clinics import get_clinic
from recall.common.actors import STAFF_ROLES, Actor, Role
from recall.common.clock import Clock
from recall.common.db import Database
from recall.common.errors import ValidationError as RecallValidationError
from recall.common.pagination import Page, paginate
from recall.common.text import UNSTORABLE
from recall.common.timeutil import at_local

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database() -> Database:
    return current_app.extensions["recall.db"]


def clock() -> Clock:
    return current_app.extensions["recall.clock"]


def session() -> Session:
    """One session per request; write requests get a writer (BEGIN IMMEDIATE on SQLite)."""
    if "db_session" not in g:
        g.db_session = database().new_session(write=request.method not in READ_METHODS)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def actor() -> Actor:
    return g.actor


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


class Input(ma.Schema):
    """Base of every schema: text that no database can store is a field error, not a 500."""

    @ma.pre_load
    def _storable_text(self, data: Any, **_kw: Any) -> Any:
        if isinstance(data, Mapping):
            bad = {
                key: ["must not contain NUL or unpaired surrogate characters"]
                for key, value in data.items()
                if _has_bad_text(value)
            }
            if bad:
                raise ma.ValidationError(bad)
        return data


def _has_bad_text(value: Any) -> bool:
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, list):
        return any(isinstance(v, str) and UNSTORABLE.search(v) for v in value)
    return False


def Id(**kwargs: Any) -> ma.fields.Integer:
    """An id: a positive integer that fits the database's id column."""
    kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
    return ma.fields.Integer(**kwargs)


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean: true or false, not "yes", 1 or 0."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# The roles a staff member holds, as their own enum: Role.SYSTEM is nobody's, so the API neither takes nor shows it.
_StaffRole = enum.Enum("_StaffRole", {r.name: r.value for r in STAFF_ROLES}, type=str)  # type: ignore[misc]


class StaffRole(ma.fields.Enum):
    """A staff member's role by its value; loads as a ``Role``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_StaffRole, by_value=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        return Role(super()._deserialize(value, attr, data, **kwargs).value)


def strict_bool(**kwargs: Any) -> ma.fields.Boolean:
    return StrictBoolean(**kwargs)


def _json_number(field: ma.fields.Field, value: Any) -> None:
    """A body's number is a JSON number: "2.5" is a string and true a boolean, as for strict integers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise field.make_error("invalid", input=value)


class StrictFloat(ma.fields.Float):
    """A JSON number in a body (a query string's numbers are text, so query arguments use Float)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        _json_number(self, value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictDecimal(ma.fields.Decimal):
    """A JSON number in a body, kept exact: 1.1 is Decimal("1.1"), not the binary float nearest to it. It is a
    number on the way out too, so the OpenAPI document's bounds are numbers (a Decimal would print as a string)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        _json_number(self, value)
        return super()._deserialize(repr(value) if isinstance(value, float) else value, attr, data, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else float(value)


class Output(ma.Schema):
    """Base of every response schema. marshmallow writes every declared field into every answer (null when the
    field allows none), so each one is marked required: the OpenAPI document then says what a client can count on.
    A field that may be left out says so with ``metadata={"optional": True}``."""

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        super().on_bind_field(field_name, field_obj)
        if not field_obj.metadata.get("optional") and not field_obj.load_only:
            field_obj.required = True


class Instant(ma.fields.AwareDateTime):
    """An ISO 8601 instant with an offset, within years recall can reason about."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "x-minimum": f"{EARLIEST_YEAR}-01-01T00:00:00Z",
            "x-maximum": f"{LATEST_YEAR}-12-31T23:59:59Z",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = result.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ma.ValidationError("is out of range") from None
        if not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
            raise ma.ValidationError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
        return result


EARLIEST_DAY, LATEST_DAY = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)


class Day(ma.fields.Date):
    """A calendar day (YYYY-MM-DD), by default within the years recall can reason about. The bounds are a Range
    validator, so the OpenAPI document states them (``x-minimum``/``x-maximum``: JSON Schema has no date bounds)."""

    def __init__(
        self, *, earliest: date | None = EARLIEST_DAY, latest: date | None = LATEST_DAY, **kwargs: Any
    ) -> None:
        low = earliest.isoformat() if earliest else None
        high = latest.isoformat() if latest else None
        error = (
            f"must be between {low} and {high}"
            if low and high
            else f"must be on or after {low}"
            if low
            else f"must be on or before {high}"
        )
        validators = [ma.validate.Range(min=earliest, max=latest, error=error)] if low or high else []
        extra = kwargs.pop("validate", None)
        if extra is not None:
            validators += list(extra) if isinstance(extra, (list, tuple)) else [extra]
        super().__init__(validate=validators, **kwargs)


class PageArgs(Input):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


RANGE_RULE = (
    "a day (YYYY-MM-DD) in the clinic's time zone, or an ISO 8601 instant with an offset; "
    "from a day is its first moment, to a day takes in the whole day, an instant as to is excluded"
)


class DayOrInstant(ma.fields.Field):
    """``from``/``to`` of every list: a day (YYYY-MM-DD, the clinic's local day) or an instant with an offset.

    A day lets a manager ask for "2 to 8 March" without working out offsets; an instant lets a chart ask for
    exactly the hours it shows. Loads as a ``date`` or an aware ``datetime``; ``instant_range`` (or a list
    schema's ``RangeArgs``) turns them into the one half-open range of instants [from, to) the queries use.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "type": "string",
            "example": "2026-03-02",
            "description": RANGE_RULE,
            "x-minimum": EARLIEST_DAY.isoformat(),
            "x-maximum": LATEST_DAY.isoformat(),
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date | datetime:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a day (YYYY-MM-DD) or an instant with an offset")
        field: ma.fields.Field = Day() if len(value.strip()) == 10 else Instant()
        return field.deserialize(value.strip(), attr, data, **kwargs)


def bound(value: date | datetime | None, zone_name: str, *, end: bool) -> datetime | None:
    """One end of [from, to) as an instant: a day's local midnight (for ``to``, the next one)."""
    if value is None or isinstance(value, datetime):
        return None if value is None else value.astimezone(UTC)
    return at_local(value + timedelta(days=1) if end else value, 0, zone_name)


def clinic_zone() -> str:
    return get_clinic(session(), actor().clinic_id).timezone


def instant_range(
    start: date | datetime | None,
    end: date | datetime | None,
    zone_name: str | None = None,
    *,
    names: tuple[str, str] = ("from", "to"),
) -> tuple[datetime | None, datetime | None]:
    """[from, to) as instants; the clinic's zone is read only when a bound is a day. ``to`` must be after ``from``."""
    if zone_name is None:
        days = [v for v in (start, end) if v is not None and not isinstance(v, datetime)]
        zone_name = clinic_zone() if days else "UTC"
    first, last = bound(start, zone_name, end=False), bound(end, zone_name, end=True)
    if first is not None and last is not None and last <= first:
        raise RecallValidationError(f"must be after {names[0]}", field=names[1])
    return first, last


class RangeArgs(PageArgs):
    """A list's ``from``/``to`` (see ``DayOrInstant``), loaded as the half-open range of instants [from, to)."""

    from_ = DayOrInstant(data_key="from")
    to = DayOrInstant()

    @ma.post_load
    def _instants(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        if data.get("from_") is not None or data.get("to") is not None:
            data["from_"], data["to"] = instant_range(data.get("from_"), data.get("to"))
        return data


class DayRangeArgs(Input):
    """An inclusive range of whole days in the clinic's zone: a pay period is made of days."""

    from_ = Day(data_key="from", metadata={"description": "a day (YYYY-MM-DD) in the clinic's time zone, included"})
    to = Day(metadata={"description": "a day (YYYY-MM-DD) in the clinic's time zone, included"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ma.ValidationError("must not be before from", field_name="to")


def page_of(stmt: Any, args: dict[str, Any]) -> Page[Any]:
    return paginate(session(), stmt, args["page"], args["page_size"])


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_schema(item: type[ma.Schema]) -> type[ma.Schema]:
    """The paged envelope {items, page, page_size, total, pages} around ``item``."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Output,),
            {
                "items": ma.fields.List(ma.fields.Nested(item)),
                "page": ma.fields.Integer(),
                "page_size": ma.fields.Integer(),
                "total": ma.fields.Integer(),
                "pages": ma.fields.Integer(),
            },
        )
    return _page_schemas[name]
