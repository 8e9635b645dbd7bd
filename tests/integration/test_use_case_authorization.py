"""The write use cases check who is calling themselves, not only the web decorators in front of them: the CLI,
the worker and any future caller (the console, an import) get the same rule. The system actor acts for a clinic
wherever a manager may; nobody else gains a write the API refuses them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service, create_provider, create_service, update_provider
from recall.clinic.clinics import Clinic, update_clinic
from recall.clinic.patients import Patient, create_patient
from recall.clinic.staff import Staff, create_staff, update_staff
from recall.common.actors import Actor, Role
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.common.errors import Forbidden
from recall.credit.payplan import PlanTerms, load_terms, replace_plan
from recall.queue.service_edits import update_service
from recall.reminders.patient_edits import update_patient
from tests.factories import World

pytestmark = pytest.mark.db

MANAGERS = {"manager", "system"}
ANY_STAFF = {"manager", "frontdesk", "operator", "system"}

Write = Callable[[Session, FixedClock, Actor, World], Any]

WRITES: dict[str, tuple[Write, set[str]]] = {
    "create a provider": (
        lambda s, c, a, w: create_provider(s, c, a, {"name": "Dr. New", "specialty": "general practice"}),
        MANAGERS,
    ),
    "edit a provider": (
        lambda s, c, a, w: update_provider(s, a, w.a.providers[0].id, {"name": "Dr. Renamed"}),
        MANAGERS,
    ),
    "create a service": (lambda s, c, a, w: create_service(s, c, a, {"name": "New visit type"}), MANAGERS),
    "edit a service": (lambda s, c, a, w: update_service(s, a, w.a.services[0].id, {"value_weight": 2.0}), MANAGERS),
    "create a staff member": (
        lambda s, c, a, w: create_staff(s, c, a, name="New operator", role=Role.OPERATOR),
        MANAGERS,
    ),
    "edit a staff member": (lambda s, c, a, w: update_staff(s, a, w.a.staff["operator"].id, name="Renamed"), MANAGERS),
    "edit the clinic": (lambda s, c, a, w: update_clinic(s, a, {"recall_cooling_off_hours": 48}), MANAGERS),
    "replace the pay plan": (
        lambda s, c, a, w: replace_plan(s, c, a, PlanTerms(1000, 2000, Decimal("1.5"))),
        MANAGERS,
    ),
    "create a patient": (
        lambda s, c, a, w: create_patient(s, c, a, {"full_name": "Nowa Pacjentka", "phone": "+46701234599"}),
        ANY_STAFF,
    ),
    "edit a patient": (
        lambda s, c, a, w: update_patient(s, c, a, w.a.patients[0].id, {"full_name": "Renamed Patient"}),
        ANY_STAFF,
    ),
}

# What each write leaves behind, to prove a refused one left nothing.
TRACE = [
    sa.select(sa.func.count()).select_from(Provider),
    sa.select(sa.func.count()).select_from(Service),
    sa.select(sa.func.count()).select_from(Staff),
    sa.select(sa.func.count()).select_from(Patient),
]


def _actor(world: World, who: str) -> Actor:
    clinic_id = world.a.clinic.id
    if who == "system":
        return Actor.system(clinic_id)
    member = world.a.staff[who]
    return Actor(staff_id=member.id, clinic_id=clinic_id, role=member.role)


def _state(database: Database, clinic_id: int) -> tuple[Any, ...]:
    with database.reader() as s:
        return (
            tuple(s.scalar(q) for q in TRACE),
            s.scalar(sa.select(Clinic.recall_cooling_off_hours).where(Clinic.id == clinic_id)),
            load_terms(s, clinic_id),
            tuple(s.scalars(sa.select(Provider.name).order_by(Provider.id))),
            tuple(s.scalars(sa.select(Staff.name).order_by(Staff.id))),
            tuple(s.scalars(sa.select(Patient.full_name).order_by(Patient.id))),
            tuple(s.scalars(sa.select(Service.value_weight).order_by(Service.id))),
        )


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", ["manager", "frontdesk", "operator", "system"])
def test_a_write_use_case_lets_only_the_roles_the_api_lets(
    database: Database, clock: FixedClock, world: World, write: str, who: str
) -> None:
    run, allowed = WRITES[write]
    before = _state(database, world.a.clinic.id)
    with database.writer() as s:
        if who in allowed:
            run(s, clock, _actor(world, who), world)
            refused = False
        else:
            with pytest.raises(Forbidden):
                run(s, clock, _actor(world, who), world)
            refused = True
    if refused:
        assert _state(database, world.a.clinic.id) == before, f"a refused {write} changed something"
    else:
        assert _state(database, world.a.clinic.id) != before, f"an allowed {write} changed nothing"
