"""What every resource uses: the request's session, clock and actor, and paging."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from sqlalchemy.orm import Session

from recall.actors import Actor
from recall.clock import Clock
from recall.db import Database
from recall.pagination import Page, paginate

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
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class Input(ma.Schema):
    """Base of every schema: text that no database can store is a field error, not a 500."""

    @ma.pre_load
    def _storable_text(self, data: Any, **_kw: Any) -> Any:
        if isinstance(data, Mapping):
            bad = {key: ["must not contain NUL or unpaired surrogate characters"]
                   for key, value in data.items() if _has_bad_text(value)}
            if bad:
                raise ma.ValidationError(bad)
        return data


def _has_bad_text(value: Any) -> bool:
    if isinstance(value, str):
        return _BAD_TEXT.search(value) is not None
    if isinstance(value, list):
        return any(isinstance(v, str) and _BAD_TEXT.search(v) for v in value)
    return False


def Id(**kwargs: Any) -> ma.fields.Integer:  # noqa: N802 - used like a field class
    """An id: a positive integer that fits the database's id column."""
    kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
    return ma.fields.Integer(**kwargs)


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean: true or false, not "yes", 1 or 0."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def strict_bool(**kwargs: Any) -> ma.fields.Boolean:
    return StrictBoolean(**kwargs)


class Instant(ma.fields.AwareDateTime):
    """An ISO 8601 instant with an offset, within years recall can reason about."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = result.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise ma.ValidationError("is out of range") from None
        if not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
            raise ma.ValidationError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
        return result


class Day(ma.fields.Date):
    """A calendar day (YYYY-MM-DD) within years recall can reason about."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        result = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
            raise ma.ValidationError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
        return result


class PageArgs(Input):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class RangeArgs(PageArgs):
    """A half-open range of instants, [from, to)."""

    from_ = Instant(data_key="from", metadata={"description": "inclusive, ISO 8601 with offset"})
    to = Instant(metadata={"description": "exclusive, ISO 8601 with offset"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] <= data["from_"]:
            raise ma.ValidationError("must be after from", field_name="to")


class DayRangeArgs(Input):
    """An inclusive range of days in the clinic's zone."""

    from_ = Day(data_key="from")
    to = Day()

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
        _page_schemas[name] = type(name, (ma.Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item)),
            "page": ma.fields.Integer(),
            "page_size": ma.fields.Integer(),
            "total": ma.fields.Integer(),
            "pages": ma.fields.Integer(),
        })
    return _page_schemas[name]


