"""The scene and the table of endpoints that test_access.py checks.

``build_clinic`` makes one of each thing in a clinic (a booking, a front-desk
booking, a checked-in visit, an open recall task, a front-desk reminder call) and
``ClinicScene`` holds their ids. ``ENDPOINTS`` lists every endpoint under /api/v1 with the roles that may
call it and a request that succeeds for them.
"""

from __future__ import annotations

from collections.abc import Callable
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
from tests.factories import Api, ClinicWorld, actor_of, future, iso, make_call, make_task

ROLES = ("operator", "frontdesk", "manager")
EVERYONE = frozenset(ROLES)
MANAGER = frozenset({"manager"})
AT_THE_CLINIC = frozenset({"frontdesk", "manager"})
QUEUE = frozenset({"operator", "manager"})
# Not resources: the OpenAPI document and the interactive docs are public.
UNGUARDED = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/static/<path:filename>"}


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


# --- the table of endpoints --------------------------------------------------------------------------------------

Path = Callable[[ClinicScene, str], str]
Body = Callable[[ClinicScene, str], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str  # exactly as in app.url_map, without the /api/v1 prefix
    allowed: frozenset[str]
    path: Path
    body: Body | None = None
    variant: str = ""

    @property
    def name(self) -> str:
        return f"{self.method} {self.rule}" + (f" ({self.variant})" if self.variant else "")

    @property
    def takes_id(self) -> bool:
        return "<" in self.rule

    def call(self, api: Api, scene: ClinicScene, who: str, *, path_from: ClinicScene | None = None) -> Any:
        body = self.body(scene, who) if self.body else None
        url = self.path(path_from or scene, who)
        return api._call(self.method, url, **({"json": body} if body is not None else {}))


def booking_body(s: ClinicScene, who: str) -> dict[str, Any]:
    return {
        "patient_id": s.patient,
        "service_id": s.service,
        "start_at": s.later(),
        "channel": "in_person" if who == "frontdesk" else "phone",
    }


def pay_plan(s: ClinicScene, _who: str = "") -> dict[str, Any]:
    return {
        "frontdesk_base_cents": 1200,
        "operator_base_cents": 1500,
        "recall_multiplier": 2,
        "service_rates": [{"service_id": s.service, "role": "operator", "amount_cents": 1800}],
    }


def reminder_policy(s: ClinicScene, _who: str = "") -> dict[str, Any]:
    return {
        "steps": [
            {"offset_minutes": 1440, "channel": "sms"},
            {"offset_minutes": 120, "channel": "voice", "fallback": "sms"},
        ],
        "overrides": [{"service_id": s.service, "steps": [{"offset_minutes": 60, "channel": "sms"}]}],
    }


def ep(
    method: str, rule: str, allowed: frozenset[str], path: str | Path, body: Body | None = None, variant: str = ""
) -> Endpoint:
    resolve: Path = (lambda _s, _w, p=path: p) if isinstance(path, str) else path
    return Endpoint(method, rule, allowed, resolve, body, variant)


ENDPOINTS: list[Endpoint] = [
    # the clinic and its pay plan
    ep("GET", "/clinic", EVERYONE, "/clinic"),
    ep("PATCH", "/clinic", MANAGER, "/clinic", lambda s, w: {"name": "Nordvik Clinic"}),
    ep("GET", "/clinic/pay-plan", EVERYONE, "/clinic/pay-plan"),
    ep("PUT", "/clinic/pay-plan", MANAGER, "/clinic/pay-plan", pay_plan),
    # the reminder policy
    ep("GET", "/clinic/reminder-policy", EVERYONE, "/clinic/reminder-policy"),
    ep("PUT", "/clinic/reminder-policy", MANAGER, "/clinic/reminder-policy", reminder_policy),
    ep("GET", "/clinic/reminder-policy/versions", MANAGER, "/clinic/reminder-policy/versions"),
    ep(
        "GET",
        "/clinic/reminder-policy/versions/<int:version>",
        MANAGER,
        lambda s, w: f"/clinic/reminder-policy/versions/{s.policy_version}",
    ),
    ep(
        "POST",
        "/clinic/reminder-policy/preview",
        MANAGER,
        "/clinic/reminder-policy/preview",
        lambda s, w: {"language": "pl", "start_at": s.later(), "service_id": s.service, "provider_id": s.provider},
    ),
    # staff and tokens
    ep("GET", "/me", EVERYONE, "/me"),
    ep("GET", "/staff", MANAGER, "/staff"),
    ep("POST", "/staff", MANAGER, "/staff", lambda s, w: {"name": "Li Wei", "role": "operator"}),
    ep("GET", "/staff/<int:staff_id>", EVERYONE, lambda s, w: f"/staff/{s.own(w)}", variant="own"),
    ep("GET", "/staff/<int:staff_id>", MANAGER, lambda s, w: f"/staff/{s.other}", variant="someone else"),
    ep(
        "PATCH",
        "/staff/<int:staff_id>",
        MANAGER,
        lambda s, w: f"/staff/{s.other}",
        lambda s, w: {"name": "Olga Petrova"},
    ),
    ep("GET", "/staff/<int:staff_id>/tokens", EVERYONE, lambda s, w: f"/staff/{s.own(w)}/tokens", variant="own"),
    ep("GET", "/staff/<int:staff_id>/tokens", MANAGER, lambda s, w: f"/staff/{s.other}/tokens", variant="someone else"),
    ep(
        "POST",
        "/staff/<int:staff_id>/tokens",
        MANAGER,
        lambda s, w: f"/staff/{s.other}/tokens",
        lambda s, w: {"label": "desk laptop"},
    ),
    ep(
        "DELETE",
        "/staff/<int:staff_id>/tokens/<int:token_id>",
        EVERYONE,
        lambda s, w: f"/staff/{s.own(w)}/tokens/{s.tokens[w]}",
        variant="own",
    ),
    ep(
        "DELETE",
        "/staff/<int:staff_id>/tokens/<int:token_id>",
        MANAGER,
        lambda s, w: f"/staff/{s.other}/tokens/{s.tokens['operator2' if 'operator2' in s.tokens else 'frontdesk']}",
        variant="someone else",
    ),
    # patients
    ep("GET", "/patients", EVERYONE, "/patients"),
    ep(
        "POST", "/patients", EVERYONE, "/patients", lambda s, w: {"full_name": "Nils Nilsson", "phone": "070-765 43 21"}
    ),
    ep("GET", "/patients/<int:patient_id>", EVERYONE, lambda s, w: f"/patients/{s.patient}"),
    ep(
        "PATCH",
        "/patients/<int:patient_id>",
        EVERYONE,
        lambda s, w: f"/patients/{s.patient}",
        lambda s, w: {"language": "en"},
    ),
    # the catalog
    ep("GET", "/providers", EVERYONE, "/providers"),
    ep("POST", "/providers", MANAGER, "/providers", lambda s, w: {"name": "Dr. Wang Fang", "specialty": "ENT"}),
    ep("GET", "/providers/<int:provider_id>", EVERYONE, lambda s, w: f"/providers/{s.provider}"),
    ep(
        "PATCH",
        "/providers/<int:provider_id>",
        MANAGER,
        lambda s, w: f"/providers/{s.provider}",
        lambda s, w: {"specialty": "family medicine"},
    ),
    ep("GET", "/services", EVERYONE, "/services"),
    ep("POST", "/services", MANAGER, "/services", lambda s, w: {"name": "Vaccination", "duration_minutes": 15}),
    ep("GET", "/services/<int:service_id>", EVERYONE, lambda s, w: f"/services/{s.service}"),
    ep(
        "PATCH",
        "/services/<int:service_id>",
        MANAGER,
        lambda s, w: f"/services/{s.service}",
        lambda s, w: {"duration_minutes": 45},
    ),
    # visits
    ep("POST", "/visits", AT_THE_CLINIC, "/visits", lambda s, w: {"patient_id": s.patient2, "service_id": s.service}),
    ep("GET", "/visits", EVERYONE, "/visits"),
    ep("GET", "/visits/<int:visit_id>", EVERYONE, lambda s, w: f"/visits/{s.visit}"),
    ep(
        "POST",
        "/visits/<int:visit_id>/checkout",
        AT_THE_CLINIC,
        lambda s, w: f"/visits/{s.visit}/checkout",
        lambda s, w: {"follow_up": "not_needed"},
    ),
    # bookings
    ep("POST", "/bookings", EVERYONE, "/bookings", booking_body),
    ep("GET", "/bookings", EVERYONE, "/bookings"),
    ep("GET", "/bookings/<int:booking_id>", EVERYONE, lambda s, w: f"/bookings/{s.booking}"),
    ep(
        "GET",
        "/bookings/<int:booking_id>/credit",
        frozenset({"operator", "manager"}),
        lambda s, w: f"/bookings/{s.booking}/credit",
        variant="an operator's booking",
    ),
    ep(
        "GET",
        "/bookings/<int:booking_id>/credit",
        AT_THE_CLINIC,
        lambda s, w: f"/bookings/{s.desk_booking}/credit",
        variant="a front-desk booking",
    ),
    ep("POST", "/bookings/<int:booking_id>/confirm", EVERYONE, lambda s, w: f"/bookings/{s.booking}/confirm"),
    ep(
        "POST",
        "/bookings/<int:booking_id>/move",
        EVERYONE,
        lambda s, w: f"/bookings/{s.booking}/move",
        lambda s, w: {"start_at": s.later()},
    ),
    ep(
        "POST",
        "/bookings/<int:booking_id>/cancel",
        EVERYONE,
        lambda s, w: f"/bookings/{s.booking}/cancel",
        lambda s, w: {"reason": "the patient asked"},
    ),
    ep("POST", "/bookings/<int:booking_id>/attend", AT_THE_CLINIC, lambda s, w: f"/bookings/{s.booking}/attend"),
    ep("POST", "/bookings/<int:booking_id>/no-show", AT_THE_CLINIC, lambda s, w: f"/bookings/{s.booking}/no-show"),
    # the recall queue
    ep("GET", "/recall-tasks", QUEUE, "/recall-tasks"),
    ep("GET", "/recall-tasks/<int:task_id>", QUEUE, lambda s, w: f"/recall-tasks/{s.task}"),
    ep("POST", "/recall-queue/claim", QUEUE, "/recall-queue/claim"),
    ep("GET", "/recall-queue/surge", QUEUE, "/recall-queue/surge"),
    ep("PUT", "/recall-tasks/<int:task_id>/lease", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/lease"),
    ep("DELETE", "/recall-tasks/<int:task_id>/lease", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/lease"),
    ep(
        "POST",
        "/recall-tasks/<int:task_id>/attempts",
        QUEUE,
        lambda s, w: f"/recall-tasks/{s.held(w)}/attempts",
        lambda s, w: {"outcome": "no_answer", "duration_seconds": 25},
    ),
    ep("GET", "/recall-tasks/<int:task_id>/attempts", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/attempts"),
    # reminders, and the front desk's reminder calls
    ep("GET", "/reminders", EVERYONE, "/reminders"),
    ep("GET", "/reminders/<int:reminder_id>", EVERYONE, lambda s, w: f"/reminders/{s.call}"),
    ep("GET", "/reminder-calls", AT_THE_CLINIC, "/reminder-calls"),
    ep(
        "POST",
        "/reminder-calls/<int:reminder_id>/outcome",
        AT_THE_CLINIC,
        lambda s, w: f"/reminder-calls/{s.call}/outcome",
        lambda s, w: {"outcome": "no_answer", "note": "rang twice"},
    ),
    # queue statistics
    ep("GET", "/recall-queue/health", MANAGER, "/recall-queue/health"),
    ep("GET", "/recall-queue/kpis", MANAGER, "/recall-queue/kpis"),
    ep(
        "GET",
        "/recall-queue/kpis",
        MANAGER,
        lambda s, w: f"/recall-queue/kpis?from=2026-03-01&to=2026-03-07&group=week&staff_id={s.other}",
        variant="one operator's week",
    ),
    ep("GET", "/recall-queue/staffing", MANAGER, "/recall-queue/staffing?target_days=5&hours_per_day=7&occupancy=0.85"),
    # earnings and the ledger
    ep("GET", "/earnings/me", EVERYONE, "/earnings/me"),
    ep("GET", "/earnings/staff/<int:staff_id>", EVERYONE, lambda s, w: f"/earnings/staff/{s.own(w)}", variant="own"),
    ep(
        "GET",
        "/earnings/staff/<int:staff_id>",
        MANAGER,
        lambda s, w: f"/earnings/staff/{s.other}",
        variant="someone else",
    ),
    ep("GET", "/earnings/team", MANAGER, "/earnings/team"),
    ep(
        "POST",
        "/earnings/what-if",
        MANAGER,
        "/earnings/what-if",
        lambda s, w: {"from": "2026-01-01", "to": "2026-02-28", "plan": pay_plan(s)},
    ),
    ep("GET", "/ledger", EVERYONE, "/ledger"),
    ep("GET", "/ledger", EVERYONE, lambda s, w: f"/ledger?staff_id={s.own(w)}", variant="own staff_id"),
    ep("GET", "/ledger", MANAGER, lambda s, w: f"/ledger?staff_id={s.other}", variant="someone else's staff_id"),
]

BY_NAME = {e.name: e for e in ENDPOINTS}
assert len(BY_NAME) == len(ENDPOINTS), "two rows of the table share a name"
