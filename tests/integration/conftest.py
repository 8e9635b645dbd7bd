from __future__ import annotations

import pytest

from recall.actors import Actor
from tests.factories import World, actor_of


@pytest.fixture
def people(world: World) -> dict[str, Actor]:
    """Clinic a's staff as actors, by the names the world gives them."""
    return {key: actor_of(member) for key, member in world.a.staff.items()}
