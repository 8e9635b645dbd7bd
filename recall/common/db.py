"""Database plumbing: the declarative base, UTC timestamps, engines and sessions.

SQLite is the embedded default (WAL, busy timeout, foreign keys on). Write
transactions on SQLite start with ``BEGIN IMMEDIATE`` so that two writers never
deadlock on a lock upgrade; PostgreSQL is reached through psycopg 3.

The bound parameters and the rows of our statements are names, phones and SMS
texts, so neither reaches a log or an error message: the engine hides parameters
(``hide_parameters``: SQL logs and ``StatementError`` messages show none), and
the rows SQLAlchemy logs at DEBUG are replaced by a placeholder (``HideRows``).
"""

from __future__ import annotations

import enum
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

UTC = UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """An instant. Always aware UTC in Python; naive UTC text on SQLite, timestamptz on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column_type(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a CHECK constraint holding the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def locking(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """``SELECT ... FOR UPDATE`` that also refreshes a row this session already holds: after waiting for the
    lock, the row may have changed, and the identity map would otherwise hand back what it read before."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def by_id_in_clinic(model: Any) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The read of one ``model`` row by ``id`` within its ``clinic`` (bound parameters of those names), and its
    locking form: built once at import, since building a statement costs more CPU than running one this small."""
    stmt = sa.select(model).where(model.id == sa.bindparam("id"), model.clinic_id == sa.bindparam("clinic"))
    return stmt, locking(stmt)


def normalize_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and route them through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class HideRows(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG ("Row %r"), patient data included; keep the line, not the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.msg, record.args = "Row [values hidden]", ()
        return True


_HIDE_ROWS = HideRows()


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=max_overflow,
            hide_parameters=True,
        )
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        engine = sa.create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, hide_parameters=True
        )
    # The engine's logger (an adapter when echo or a logging name is set): a filter there sees its rows.
    logger = engine.logger
    cast(logging.Logger, getattr(logger, "logger", logger)).addFilter(_HIDE_ROWS)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # The pysqlite recipe from SQLAlchemy's docs: stop the driver from issuing its
    # own BEGIN, and emit ours, IMMEDIATE for writers.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite has one writer at a time. Writers of this process queue on a lock instead of
    # polling in the busy handler, whose growing sleeps kept the slowest requests waiting for
    # seconds while the database was free. The lock is taken before BEGIN IMMEDIATE and given
    # back when the connection returns to the pool, right after COMMIT or ROLLBACK; the busy
    # timeout still covers writers in other processes.
    writer_lock = threading.Lock()
    wait = busy_timeout_ms / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if not conn.get_execution_options().get("recall_write", False):
            _emit(conn, "BEGIN")
            return
        if not writer_lock.acquire(timeout=wait):
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, TimeoutError("database is locked"))
        conn.info["recall_writer"] = True
        try:
            _emit(conn, "BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _emit(conn: sa.Connection, sql: str) -> None:
        """Straight to the driver: SQLAlchemy's statement machinery cost more than the BEGIN itself
        (most of a reminder send's database time); its errors are wrapped as SQLAlchemy's would be."""
        try:
            conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise sa.exc.OperationalError(sql, {}, exc) from exc

    def _release(info: dict[str, Any]) -> None:
        if info.pop("recall_writer", False):
            writer_lock.release()

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)

    @event.listens_for(engine.pool, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        _release(record.info)


class Database:
    """Engines and session factories for one database.

    ``reader()`` gives a session for queries; ``writer()`` one for a use case that
    changes state (on SQLite it takes the write lock up front). Use cases commit.
    """

    def __init__(self, url: str, **engine_options: Any):
        self.engine = make_engine(url, **engine_options)
        self.dialect = self.engine.dialect.name
        self._write_engine = self.engine.execution_options(recall_write=True)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    def new_session(self, *, write: bool) -> Session:
        return (self._writer if write else self._reader)()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def writer(self) -> Iterator[Session]:
        with self._writer() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(self, *, write: bool) -> Iterator[sa.Connection]:
        """A Core connection for a hot path that needs no ORM (the reminder sender); the caller commits."""
        with (self._write_engine if write else self.engine).connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
