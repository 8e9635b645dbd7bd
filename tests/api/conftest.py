"""The scenes the API tests send their requests into, both built by scene.py's one builder.

``scene``: one of each thing in both clinics (the access and OpenAPI tests); ``v``: clinic a's scene as the
validation tests name it (valid.py).
"""

from __future__ import annotations

import pytest

from recall.common.clock import FixedClock
from recall.common.db import Database
from tests.api import valid
from tests.api.scene import Scene, build_clinic, build_scene
from tests.factories import World


@pytest.fixture
def scene(database: Database, clock: FixedClock, world: World) -> Scene:
    return build_scene(database, clock, world)


@pytest.fixture
def v(database: Database, clock: FixedClock, world: World) -> valid.Scene:
    # Clinic a's scene only: the validation tests name nothing of clinic b's but two ids of its world.
    return valid.Scene.of(build_clinic(database, clock, world.a), world.b)
