"""The scene: one of each thing in both clinics, for the tests that send requests into it.

``build_clinic`` makes one of each thing in a clinic (a booking, a front-desk
booking, a checked-in visit, an open recall task, a front-desk reminder call) and
``ClinicScene`` holds their ids; the ``scene`` fixture (conftest.py) builds both clinics'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from recall.clinic.staff import ApiToken
from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.reminders.policy import ReminderPolicy, replace_policy
from recall.visits.bookings import BookingRequest, Channel, create_booking
from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.factories import ClinicWorld, actor_of, future, iso, make_call, make_task

# --- the scene: one of each thing in both clinics -------------------------------------------------------------


@dataclass
class ClinicScene:
    """Ids of one clinic's rows, by what they are."""

    world: ClinicWorld
    clock: FixedClock
    staff: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    booking: int = 0  # an operator's phone booking that started an hour ago
    desk_booking: int = 0  # a front-desk booking of the second patient, an hour from now
    visit: int = 0  # a checked-in visit, ready for checkout
    task: int = 0  # an open recall task of the second patient
    leased: dict[str, int] = field(default_factory=dict)  # a due task leased to each queue worker
    policy_version: int = 0  # the clinic's last saved reminder policy: 1 in clinic a, 2 in clinic b
    call: int = 0  # a front-desk reminder call about the front-desk booking, handed over and still open

    @property
    def patient(self) -> int:
        return self.world.patients[0].id

    @property
    def patient2(self) -> int:
        return self.world.patients[1].id

    @property
    def provider(self) -> int:
        return self.world.providers[0].id

    @property
    def service(self) -> int:
        return self.world.services[0].id

    def held(self, who: str) -> int:
        """A task leased to ``who`` (for a role that works no queue, the operator's)."""
        return self.leased.get(who, self.leased["operator"])

    def own(self, who: str) -> int:
        return self.staff[who]

    @property
    def other(self) -> int:
        """Someone who is never the caller in these tests."""
        return self.staff["operator2"] if "operator2" in self.staff else self.staff["frontdesk"]

    def later(self, days: int = 7) -> str:
        return iso(future(self.clock, days=days))


@dataclass
class Scene:
    a: ClinicScene
    b: ClinicScene


def build_clinic(database: Database, clock: FixedClock, cw: ClinicWorld) -> ClinicScene:
    scene = ClinicScene(world=cw, clock=clock, staff={k: s.id for k, s in cw.staff.items()})
    people: dict[str, Actor] = {k: actor_of(s) for k, s in cw.staff.items()}
    earlier = FixedClock(clock.now() - timedelta(hours=3))
    with database.writer() as s:
        scene.tokens = {
            k: s.scalar(sa.select(ApiToken.id).where(ApiToken.staff_id == i)) for k, i in scene.staff.items()
        }
    with database.writer() as s:
        scene.booking = create_booking(
            s,
            earlier,
            people["operator"],
            BookingRequest(
                patient_id=scene.patient,
                provider_id=scene.provider,
                service_id=scene.service,
                channel=Channel.PHONE,
                start_at=clock.now() - timedelta(hours=1),
            ),
        ).id
    with database.writer() as s:
        scene.desk_booking = create_booking(
            s,
            clock,
            people["frontdesk"],
            BookingRequest(
                patient_id=scene.patient2,
                service_id=scene.service,
                channel=Channel.IN_PERSON,
                start_at=clock.now() + timedelta(hours=1),
            ),
        ).id
    with database.writer() as s:
        scene.visit = check_in(
            s,
            clock,
            people["frontdesk"],
            patient_id=scene.patient,
            provider_id=scene.provider,
            service_id=scene.service,
        ).id
    with database.writer() as s:
        left = check_in(s, earlier, people["frontdesk"], patient_id=scene.patient2, service_id=scene.service)
    with database.writer() as s:
        result = checkout(s, earlier, people["frontdesk"], left.id, CheckoutRequest(follow_up=FollowUp.DECLINED))
        assert result.recall_task is not None
        scene.task = result.recall_task.id
    scene.call = make_call(database, clock, scene.desk_booking)
    # One patient is one operator's at a time: the manager holds the second patient's work.
    for who, patient in (("operator", scene.patient), ("manager", scene.patient2)):
        scene.leased[who] = make_task(
            database, clock, cw.clinic.id, patient, service_id=scene.service, leased_to=scene.staff[who]
        ).id
    # Clinic a (built first) saves its reminder policy once, clinic b twice: a's version in b's path names nothing.
    with database.reader() as s:
        built = s.scalar(sa.select(sa.func.count(sa.distinct(ReminderPolicy.clinic_id)))) or 0
    for _ in range(built + 1):
        with database.writer() as s:
            scene.policy_version = replace_policy(s, clock, people["manager"], reminder_policy(scene))[0].version
    return scene


def reminder_policy(s: ClinicScene, _who: str = "") -> dict[str, Any]:
    return {
        "steps": [
            {"offset_minutes": 1440, "channel": "sms"},
            {"offset_minutes": 120, "channel": "voice", "fallback": "sms"},
        ],
        "overrides": [{"service_id": s.service, "steps": [{"offset_minutes": 60, "channel": "sms"}]}],
    }
