"""The scene: one of each thing in a clinic, for the tests that send requests into it.

``build_clinic`` makes one of each thing in a clinic (bookings past and upcoming, a
front-desk booking, checked-in visits, an open recall task, leased tasks, front-desk
reminder calls) and ``ClinicScene`` holds their ids. It is the one scene builder: the
``scene`` fixture (conftest.py) builds both clinics' for the access and OpenAPI tests,
and the ``v`` fixture views clinic a's for the validation tests (valid.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from recall.clinic.ehr import issue_integration_token
from recall.clinic.staff import ApiToken
from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.events.endpoints import create_endpoint
from recall.events.tables import WebhookDelivery
from recall.events.types import EventType
from recall.queue.targets import create_target
from recall.reminders.policy import ReminderPolicy, replace_policy
from recall.visits.bookings import Channel
from recall.visits.visits import CheckoutRequest, FollowUp, check_in, checkout
from tests.factories import ClinicWorld, World, actor_of, future, iso, make_booking, make_call, make_patient, make_task

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
    upcoming: int = 0  # an operator's phone booking of the first patient in three days
    upcoming_call: int = 0  # a front-desk reminder call about the upcoming booking, handed over and still open
    ent_visit: int = 0  # checked in today with the ENT service (a third patient)
    bare_visit: int = 0  # checked in today with no service at all (a fourth patient)
    integration_token: int = 0  # an integration token of the clinic's EHR (recall.clinic.ehr)
    target: int = 0  # the team's bookings target, rising 5 % a month from March 2026
    webhook_endpoint: int = 0  # the manager's CRM endpoint, subscribed to every event type
    delivery: int = 0  # its first delivery (booking.created of the operator's booking)

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
        return self.world.services[0].id  # a general check-up, follow-up after 30 days

    @property
    def ent_service(self) -> int:
        return self.world.services[1].id  # no default follow-up interval

    def held(self, who: str) -> int:
        """A task leased to ``who`` (for a role that works no queue, the operator's)."""
        return self.leased.get(who, self.leased["operator"])

    def own(self, who: str) -> int:
        return self.staff[who]

    @property
    def other(self) -> int:
        """Someone who is never the caller in these tests."""
        return self.staff["operator2"] if "operator2" in self.staff else self.staff["frontdesk"]

    def later(self, days: int = 7, hour: int = 9) -> str:
        return iso(future(self.clock, days=days, hour=hour))


@dataclass
class Scene:
    a: ClinicScene
    b: ClinicScene


def build_clinic(database: Database, clock: FixedClock, cw: ClinicWorld) -> ClinicScene:
    scene = ClinicScene(world=cw, clock=clock, staff={k: s.id for k, s in cw.staff.items()})
    people: dict[str, Actor] = {k: actor_of(s) for k, s in cw.staff.items()}
    desk = people["frontdesk"]
    earlier = FixedClock(clock.now() - timedelta(hours=3))
    with database.writer() as s:
        scene.tokens = {
            k: s.scalar(sa.select(ApiToken.id).where(ApiToken.staff_id == i)) for k, i in scene.staff.items()
        }
    with database.writer() as s:
        scene.webhook_endpoint = create_endpoint(
            s, clock, people["manager"], {"url": "http://127.0.0.1:9/hooks", "event_types": list(EventType)}, None
        )[0].id
    scene.booking = make_booking(
        database, earlier, cw, provider_id=scene.provider, start_at=clock.now() - timedelta(hours=1)
    ).id
    with database.reader() as s:
        scene.delivery = s.scalar(
            sa.select(sa.func.min(WebhookDelivery.id)).where(WebhookDelivery.endpoint_id == scene.webhook_endpoint)
        )
    scene.desk_booking = make_booking(
        database,
        clock,
        cw,
        by=desk,
        patient_id=scene.patient2,
        channel=Channel.IN_PERSON,
        start_at=clock.now() + timedelta(hours=1),
    ).id
    scene.upcoming = make_booking(database, clock, cw, days=3).id
    with database.writer() as s:
        scene.visit = check_in(
            s, clock, desk, patient_id=scene.patient, provider_id=scene.provider, service_id=scene.service
        ).id
    # The ENT and the bare visit are other patients': a patient has one visit open at a time, and the first
    # patient's is open (the second patient's visit ended earlier, below).
    third = make_patient(database, clock, cw.clinic.id, full_name="Erik Berg", phone="070-765 43 21").id
    fourth = make_patient(database, clock, cw.clinic.id, full_name="Nils Nilsson", phone="070-765 43 22").id
    with database.writer() as s:
        scene.ent_visit = check_in(s, clock, desk, patient_id=third, service_id=scene.ent_service).id
    with database.writer() as s:
        scene.bare_visit = check_in(s, clock, desk, patient_id=fourth).id
    with database.writer() as s:
        left = check_in(s, earlier, desk, patient_id=scene.patient2, service_id=scene.service)
    with database.writer() as s:
        result = checkout(s, earlier, desk, left.id, CheckoutRequest(follow_up=FollowUp.DECLINED))
        assert result.recall_task is not None
        scene.task = result.recall_task.id
    scene.call = make_call(database, clock, scene.desk_booking)
    with database.writer() as s:
        scene.integration_token = issue_integration_token(s, clock, people["manager"], "EHR").token.id
    scene.upcoming_call = make_call(database, clock, scene.upcoming)
    # One patient is one operator's at a time: the manager holds the second patient's work.
    for who, patient in (("operator", scene.patient), ("manager", scene.patient2)):
        scene.leased[who] = make_task(
            database, clock, cw.clinic.id, patient, service_id=scene.service, leased_to=scene.staff[who]
        ).id
    with database.writer() as s:
        scene.target = create_target(
            s,
            clock,
            people["manager"],
            {"kpi": "bookings", "start_value": 40, "start_month": date(2026, 3, 1), "rise_percent": 5},
        ).id
    # Clinic a (built first) saves its reminder policy once, clinic b twice: a's version in b's path names nothing.
    with database.reader() as s:
        built = s.scalar(sa.select(sa.func.count(sa.distinct(ReminderPolicy.clinic_id)))) or 0
    for _ in range(built + 1):
        with database.writer() as s:
            scene.policy_version = replace_policy(s, clock, people["manager"], reminder_policy(scene))[0].version
    return scene


def build_scene(database: Database, clock: FixedClock, world: World) -> Scene:
    return Scene(a=build_clinic(database, clock, world.a), b=build_clinic(database, clock, world.b))


def reminder_policy(s: ClinicScene, _who: str = "") -> dict[str, Any]:
    return {
        "steps": [
            {"offset_minutes": 1440, "channel": "sms"},
            {"offset_minutes": 120, "channel": "voice", "fallback": "sms"},
        ],
        "overrides": [{"service_id": s.service, "steps": [{"offset_minutes": 60, "channel": "sms"}]}],
    }
