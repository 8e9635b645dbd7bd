"""The ``v`` fixture: the scene (tests/api/valid.py) that the validation tests send their requests into."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.visits.bookings import BookingRequest, Channel, create_booking
from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.api.valid import Scene
from tests.factories import World, actor_of, future, make_call, make_patient, make_task


@pytest.fixture
def v(database: Database, clock: FixedClock, world: World) -> Scene:
    a = world.a
    people = {k: actor_of(s) for k, s in a.staff.items()}
    earlier = FixedClock(clock.now() - timedelta(days=1))

    def write(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        with database.writer() as s:
            return fn(s, *args, **kw)

    patient, patient2 = a.patients[0].id, a.patients[1].id
    service, ent = a.services[0].id, a.services[1].id
    desk = people["frontdesk"]
    left = write(check_in, earlier, desk, patient_id=patient2, service_id=service)
    task = write(checkout, earlier, desk, left.id, CheckoutRequest(follow_up=FollowUp.DECLINED)).recall_task
    booking = write(
        create_booking,
        clock,
        people["operator"],
        BookingRequest(patient_id=patient, service_id=service, channel=Channel.PHONE, start_at=future(clock, days=3)),
    ).id
    return Scene(
        clock=clock,
        staff={k: s.id for k, s in a.staff.items()},
        patient=patient,
        patient2=patient2,
        provider=a.providers[0].id,
        service=service,
        ent_service=ent,
        visit=write(check_in, clock, desk, patient_id=patient, provider_id=a.providers[0].id, service_id=service).id,
        # Other patients' (a patient has one visit open at a time; the second patient's left earlier):
        ent_visit=write(
            check_in,
            clock,
            desk,
            service_id=ent,
            patient_id=make_patient(database, clock, a.clinic.id, full_name="Erik Berg", phone="070-765 43 21").id,
        ).id,
        bare_visit=write(
            check_in,
            clock,
            desk,
            patient_id=make_patient(database, clock, a.clinic.id, full_name="Nils Nilsson", phone="070-765 43 22").id,
        ).id,
        booking=booking,
        call=make_call(database, clock, booking),
        task=task.id,
        held=make_task(
            database, clock, a.clinic.id, patient, service_id=service, leased_to=people["operator"].staff_id
        ).id,
        b_operator=world.b.staff["operator"].id,
        b_service=world.b.services[0].id,
    )
