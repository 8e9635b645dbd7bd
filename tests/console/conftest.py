"""The console's tests: the test client signed in as a staff member of the two-clinic world."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recall.common.clock import FixedClock
from recall.common.db import Database
from tests.console.helpers import sign_in_as
from tests.factories import World


@pytest.fixture
def console(app: Flask, database: Database, clock: FixedClock, world: World) -> Callable[..., FlaskClient]:
    """``console("operator")``: a fresh test client signed in as clinic a's member of that name
    (``console("manager", clinic="b")`` for the other clinic's)."""

    def open_as(name: str, clinic: str = "a") -> FlaskClient:
        member = getattr(world, clinic).staff[name]
        return sign_in_as(app.test_client(), database, clock, member)

    return open_as
