"""The CRM wiring of a clinic: rotating the launch secret (the previous one verifies for the grace period),
the origins that may frame the console, and launch links used once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.integration import (
    GRACE,
    IntegrationState,
    LaunchRefused,
    frame_origins,
    get_integration,
    integration_state,
    launch,
    parse_origins,
    rotate_launch_secret,
    set_frame_origins,
    sign_launch,
    verify_launch,
)
from recall.clinic.signin import ConsoleSession
from recall.common.actors import Actor
from recall.common.errors import Forbidden, ValidationError
from tests.factories import actor_of

pytestmark = pytest.mark.db


def test_rotating_keeps_the_previous_secret_for_the_grace_period(database, clock, world):
    manager = actor_of(world.a.staff["manager"])
    with database.writer() as s:
        first = rotate_launch_secret(s, clock, manager)
        second = rotate_launch_secret(s, clock, manager)
        row = get_integration(s, world.a.clinic.id)
        assert row is not None and (row.launch_secret, row.previous_launch_secret) == (second, first)
        assert first != second and len(second) >= 40
    member = world.a.staff["operator"]
    with database.writer() as s:
        verify_launch(s, clock, sign_launch(first, world.a.clinic.id, member.id, clock.now() + timedelta(minutes=1)))
        s.rollback()
    clock.advance(GRACE)
    with database.writer() as s, pytest.raises(LaunchRefused):
        verify_launch(s, clock, sign_launch(first, world.a.clinic.id, member.id, clock.now() + timedelta(minutes=1)))


def test_only_a_manager_rotates_the_secret_or_sets_origins(database, clock, world):
    operator = actor_of(world.a.staff["operator"])
    with database.writer() as s:
        with pytest.raises(Forbidden):
            rotate_launch_secret(s, clock, operator)
        with pytest.raises(Forbidden):
            set_frame_origins(s, operator, "https://crm.example.com")


@pytest.mark.parametrize(
    "text",
    [
        "http://crm.example.com",
        "https://crm.example.com/path",
        "https://*.example.com",
        "'self'",
        "https://crm.example.com?x=1",
        "https://user@crm.example.com",
        "https://crm.example.com:99999",
        "crm.example.com",
        "https://crm.example.com;script-src",
        "https://[::1]",
    ],
)
def test_anything_but_an_exact_https_origin_is_refused_beside_the_field(text):
    with pytest.raises(ValidationError) as refused:
        parse_origins(text)
    assert "frame_origins" in refused.value.fields


def test_origins_are_normalised_and_deduplicated():
    given = "https://CRM.example.com/\nhttps://crm.example.com:443, https://crm.example.com:8443"
    assert parse_origins(given) == ["https://crm.example.com", "https://crm.example.com:8443"]
    assert parse_origins("  ") == []


def test_the_origins_are_stored_per_clinic(database, clock, world):
    with database.writer() as s:
        set_frame_origins(s, actor_of(world.a.staff["manager"]), "https://crm.example.com")
        assert frame_origins(s, world.a.clinic.id) == ["https://crm.example.com"]
        assert frame_origins(s, world.b.clinic.id) == []
        set_frame_origins(s, actor_of(world.a.staff["manager"]), "")
        assert frame_origins(s, world.a.clinic.id) == []


def test_a_nonce_is_used_once_and_expired_nonces_are_cleared(database, clock, world):
    with database.writer() as s:
        secret = rotate_launch_secret(s, clock, Actor.system(world.a.clinic.id))
    member = world.a.staff["operator"]
    params = sign_launch(secret, world.a.clinic.id, member.id, clock.now() + timedelta(minutes=2))
    with database.writer() as s:
        signed = launch(s, clock, params)
        assert signed.actor.staff_id == member.id
    with database.writer() as s, pytest.raises(LaunchRefused) as refused:
        launch(s, clock, params)
    assert refused.value.reason == "the link was used already"
    assert "used" not in refused.value.message  # the answer does not say which detail was wrong


def test_the_state_a_manager_sees_holds_the_grace_deadline_and_no_secret(database, clock, world):
    manager = actor_of(world.a.staff["manager"])
    with database.writer() as s:
        assert integration_state(s, clock, manager) == IntegrationState(False, None, None, [])
        rotate_launch_secret(s, clock, manager)
        assert integration_state(s, clock, manager).previous_valid_until is None  # nothing before the first
        rotate_launch_secret(s, clock, manager)
        state = integration_state(s, clock, manager)
    assert state.has_launch_secret and state.previous_valid_until == clock.now() + GRACE
    assert not any(isinstance(value, str) and len(value) > 30 for value in vars(state).values())
    clock.advance(GRACE)
    with database.reader() as s:
        assert integration_state(s, clock, manager).previous_valid_until is None


def test_one_link_opened_at_once_from_many_threads_opens_one_session(database, clock, world):
    with database.writer() as s:
        secret = rotate_launch_secret(s, clock, Actor.system(world.a.clinic.id))
    params = sign_launch(secret, world.a.clinic.id, world.a.staff["operator"].id, clock.now() + timedelta(minutes=2))
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def open_it() -> None:
        start.wait()
        with database.writer() as s:
            try:
                launch(s, clock, params)
                outcomes.append("opened")
            except LaunchRefused:
                outcomes.append("refused")

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["opened"] + ["refused"] * 7
    with database.reader() as s:
        opened = s.scalar(sa.select(sa.func.count()).select_from(ConsoleSession).where(ConsoleSession.via == "launch"))
    assert opened == 1
