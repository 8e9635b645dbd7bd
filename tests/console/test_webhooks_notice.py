"""The manager's dashboard says when the worker disabled a CRM endpoint, and why, in the manager's language."""

from __future__ import annotations

import pytest

from recall.clinic.staff import Staff
from recall.events.endpoints import create_endpoint
from recall.events.types import EventType
from tests.console.helpers import text
from tests.factories import actor_of, make_booking
from tests.integration.test_webhooks_outbox import drain
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.db
OFFICE = "/console/office"


@pytest.mark.parametrize(("lang", "words"), [("en", "the receiver answered 410 Gone"), ("pl", "odpowiedział 410")])
def test_an_endpoint_the_worker_disabled_is_on_the_managers_dashboard(database, clock, world, console, lang, words):
    receiver = Receiver(answer=lambda _n: 410).start()
    try:
        with database.writer() as s:
            s.get_one(Staff, world.a.staff["manager"].id).language = lang
            s.commit()
        with database.writer() as s:
            _, receiver.secret = create_endpoint(
                s,
                clock,
                actor_of(world.a.staff["manager"]),
                {"url": receiver.url, "event_types": [EventType.BOOKING_CREATED]},
                None,
            )
        manager = console("manager")
        assert 'id="webhooks-disabled"' not in text(manager.get(f"{OFFICE}/"))
        make_booking(database, clock, world.a)
        drain(database, clock, world.a.clinic.id)
        page = text(manager.get(f"{OFFICE}/"))
        assert 'id="webhooks-disabled"' in page and receiver.url in page and words in page
        assert 'id="webhooks-disabled"' not in text(console("manager", clinic="b").get(f"{OFFICE}/"))
    finally:
        receiver.stop()
