"""What every resource uses: the request's session, clock and actor, and paging."""

from __future__ import annotations

from datetime import date, datetime
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


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class RangeArgs(PageArgs):
    """A half-open range of instants, [from, to)."""

    from_ = ma.fields.AwareDateTime(data_key="from", metadata={"description": "inclusive, ISO 8601 with offset"})
    to = ma.fields.AwareDateTime(metadata={"description": "exclusive, ISO 8601 with offset"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] <= data["from_"]:
            raise ma.ValidationError("must be after from", field_name="to")


class DayRangeArgs(ma.Schema):
    """An inclusive range of days in the clinic's zone."""

    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()


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


def iso_day(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def strict_bool(**kwargs: Any) -> ma.fields.Boolean:
    """A JSON boolean: true or false, not "yes" or 1."""
    return ma.fields.Boolean(truthy={True}, falsy={False}, **kwargs)
