"""What the operator's desk reads beside the claim: a task's worth, the claim an operator holds, the outcomes a
task may end with (tests/unit/test_desk_rules.py), and the callbacks due on a day."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.common.errors import Forbidden
from recall.credit.payplan import PlanTerms, replace_plan
from recall.credit.worth import task_worth
from recall.queue.claims import claim_next
from recall.queue.desk import callbacks_due, held_claim
from recall.queue.tasks import RecallTask, TaskReason
from tests.factories import make_task

pytestmark = pytest.mark.db


def test_a_win_back_is_worth_the_plans_amount_with_the_recall_multiplier(database, clock, world, people):
    a = world.a
    ent = a.services[1].id
    with database.writer() as s:
        replace_plan(
            s,
            clock,
            people["manager"],
            PlanTerms(800, 1200, Decimal("1.75"), service_rates={(ent, Role.OPERATOR): 2000}),
        )
    plain = make_task(database, clock, a.clinic.id, a.patients[0].id, service_id=a.services[0].id)
    rated = make_task(database, clock, a.clinic.id, a.patients[1].id, service_id=ent)
    call = make_task(database, clock, a.clinic.id, a.patients[1].id, service_id=ent, reason=TaskReason.REMINDER_CALL)
    with database.reader() as s:
        assert task_worth(s, s.get_one(RecallTask, plain.id)).cents == 2100  # 12.00 x 1.75
        assert task_worth(s, s.get_one(RecallTask, rated.id)).cents == 3500  # the service's 20.00 x 1.75
        assert task_worth(s, s.get_one(RecallTask, rated.id)).multiplier == Decimal("1.75")
        service_call = task_worth(s, s.get_one(RecallTask, call.id))
    assert service_call.cents == 2000 and service_call.multiplier is None  # no multiplier on a service call


def test_the_held_claim_is_the_patient_an_operator_holds_now(database, clock, world, people):
    a = world.a
    first = make_task(database, clock, a.clinic.id, a.patients[0].id)
    second = make_task(database, clock, a.clinic.id, a.patients[0].id, reason=TaskReason.REMINDER_CALL)
    with database.reader() as s:
        clinic = get_clinic(s, a.clinic.id)
        assert held_claim(s, clinic, people["operator"], clock.now()).task is None
    with database.writer() as s:
        claim_next(s, clock, people["operator"])
    with database.reader() as s:
        held = held_claim(s, clinic, people["operator"], clock.now())
        assert [t.id for t in held.tasks] == [second.id, first.id]  # the service call first, as the claim orders
        assert held_claim(s, clinic, people["operator2"], clock.now()).task is None
        later = clock.now() + timedelta(minutes=16)
        assert held_claim(s, clinic, people["operator"], later).task is None, "a lapsed lease holds nobody"
        with pytest.raises(Forbidden):
            held_claim(s, clinic, people["frontdesk"], clock.now())


def test_callbacks_due_are_the_operators_own_of_that_local_day(database, clock, world, people):
    a = world.a
    me = a.staff["operator"].id
    today = clock.now() + timedelta(hours=3)
    mine = make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[0].id,
        due_at=today,
        reserved_for_id=me,
        reserved_until=today + timedelta(minutes=30),
    )
    make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[1].id,
        due_at=today + timedelta(days=1),
        reserved_for_id=me,
        reserved_until=today + timedelta(days=1),
    )
    make_task(
        database,
        clock,
        a.clinic.id,
        a.patients[1].id,
        due_at=today,
        reserved_for_id=a.staff["operator2"].id,
        reserved_until=today + timedelta(minutes=30),
    )
    with database.reader() as s:
        clinic = get_clinic(s, a.clinic.id)
        due = callbacks_due(s, clinic, me, today.date())
    assert [(c.task.id, c.patient_name, c.patient_zone) for c in due] == [
        (mine.id, "Astrid Andersson", "Europe/Stockholm")
    ]
