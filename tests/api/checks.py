"""Checks shared by the API tests: what a refusal looks like, and proof that it wrote nothing.

``nothing_written`` reads every table before and after the request and fails if
any changed. ``assert_rejected`` (a 400 or 422 naming a field) and
``assert_error`` (any status and error code) check the one error shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from recall.common.db import Base, Database

ERROR_KEYS = {"code", "status", "error", "message"}


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused request wrote nothing."""
    with database.reader() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(sa.select(t))), key=repr) for t in Base.metadata.sorted_tables
        }


@contextmanager
def nothing_written(database: Database) -> Iterator[None]:
    before = snapshot(database)
    yield
    after = snapshot(database)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused request changed the tables {changed}"


def _unindexed(name: str) -> str:
    return re.sub(r"\.\d+(?=\.|$)", "", name)


def names_field(body: dict[str, Any], expected: str) -> bool:
    """The error names ``expected`` ("service_rates.0.service_id"); list indices may be left out."""
    return any(_unindexed(name) == _unindexed(expected) for name in body.get("fields", {}))


def assert_rejected(response: Any, field: str | tuple[str, ...], status: int = 422) -> dict[str, Any]:
    """A refusal in the error shape whose ``fields`` names ``field`` (or one of several acceptable names).

    List indices may be left out: "service_rates.service_id" names "service_rates.0.service_id".
    """
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:600])
    body = response.get_json()
    assert isinstance(body, dict), body
    assert body["code"] == status and body["error"] == ("bad_request" if status == 400 else "validation_error"), body
    assert isinstance(body["status"], str) and isinstance(body["message"], str) and body["message"], body
    names = body.get("fields") or {}
    assert all(isinstance(msgs, list) and msgs and all(isinstance(m, str) for m in msgs) for msgs in names.values())
    wanted = (field,) if isinstance(field, str) else field
    assert any(_unindexed(n) == _unindexed(w) for n in names for w in wanted), (
        f"expected {wanted} among the fields named, got {names}"
    )
    return body


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert isinstance(body, dict) and ERROR_KEYS <= body.keys(), body
    assert body["code"] == status and body["error"] == error, body
    assert isinstance(body["status"], str) and body["status"], body
    assert isinstance(body["message"], str) and body["message"], body
    return body
