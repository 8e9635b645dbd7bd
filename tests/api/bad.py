"""The table of bad requests shared by test_validation and test_validation_domain: a case names the valid
request it varies (a key of VALID), how it changes the body, and the field the refusal must name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.checks import assert_rejected, snapshot
from tests.api.valid import VALID, Scene
from tests.factories import World, api_as


def call_as(client: Any, world: World, who: str, method: str, url: str, body: Any = None) -> Any:
    api = api_as(client, world.a, who)
    return api._call(method, url, **({"json": body} if body is not None else {}))


@dataclass(frozen=True)
class Bad:
    endpoint: str  # a key of VALID
    change: Callable[[Scene, dict[str, Any]], Any]  # the valid body -> the bad one
    field: str | tuple[str, ...]


def put(**fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Set fields (values may be functions of the scene) in the valid body."""
    return lambda v, body: {**body, **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}


def drop(*names: str) -> Callable[[Scene, dict[str, Any]], Any]:
    return lambda v, body: {k: x for k, x in body.items() if k not in names}


def nested(key: str, **fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Set fields inside the body's nested object ``key``."""
    return lambda v, body: {**body, key: {**body[key], **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}}


def rate(**fields: Any) -> Callable[[Scene, dict[str, Any]], Any]:
    """Replace the service rates with one rate, some of its fields set."""

    def change(v: Scene, body: dict[str, Any]) -> Any:
        one = {"service_id": v.service, "role": "operator", "amount_cents": 1500}
        return {**body, "service_rates": [{**one, **{k: (f(v) if callable(f) else f) for k, f in fields.items()}}]}

    return change


def params(cases: dict[str, list[tuple[str, Bad]]]) -> list[Any]:
    """One test parameter per case, named by its kind, its name and the endpoint it varies."""
    return [
        pytest.param(case, id=f"{kind}: {name} ({case.endpoint})") for kind, ks in cases.items() for name, case in ks
    ]


def check_refused(client: Any, database: Any, world: World, v: Scene, case: Bad) -> None:
    """The bad request is refused naming the field, and nothing is written."""
    method, path, body, who = VALID[case.endpoint]
    bad = case.change(v, body(v))
    before = snapshot(database)
    response = call_as(client, world, who, method, path(v), bad)
    assert_rejected(response, case.field)
    assert snapshot(database) == before, "the refused request wrote to the database"
