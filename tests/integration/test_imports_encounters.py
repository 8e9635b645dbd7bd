"""Encounters from an import become visits: checked in and out at the times they happened, with the follow-up
decided from what we know, and the recall work a patient who left without one calls for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.common.actors import Actor
from recall.imports.records import (
    AppointmentRecord,
    AppointmentState,
    EncounterRecord,
    PatientRecord,
    Result,
    ServiceRecord,
)
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus
from recall.visits.booking import BookingStatus
from recall.visits.booking_outcomes import cancel_booking
from recall.visits.visit import FollowUp, Visit, VisitStatus
from tests.factories import row
from tests.integration.imports_scene import apply, booking, count, credit, snapshot

pytestmark = pytest.mark.db

VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm


@pytest.fixture
def ehr(database, clock, world):
    actor = Actor.system(world.a.clinic.id)
    apply(database, clock, actor, PatientRecord(ref="P-1", full_name="Anna Nowak", phone="+48 512 345 678"))
    apply(database, clock, actor, ServiceRecord(ref="S-30", name="General check-up"))  # adopts: 30-day follow-up
    apply(database, clock, actor, ServiceRecord(ref="S-ENT", name="ENT consultation"))  # no follow-up
    return actor


def _encounter(**kw):
    fields = {"ref": "E-1", "patient_ref": "P-1", "service_ref": "S-30", "started_at": VISIT, **kw}
    return EncounterRecord(**fields)


def _tasks(database):
    with database.reader() as s:
        return list(s.scalars(sa.select(RecallTask).order_by(RecallTask.id)))


def test_an_encounter_under_way_is_a_check_in_at_its_start_by_nobody_on_the_staff(database, clock, world, ehr):
    clock.set(VISIT + timedelta(minutes=20))
    out = apply(database, clock, ehr, _encounter())
    assert out.result is Result.CREATED
    visit = row(database, Visit, out.id)
    assert (visit.status, visit.checked_in_at, visit.checked_in_by_id, visit.external_ref) == (
        VisitStatus.CHECKED_IN,
        VISIT,
        None,
        "E-1",
    )


def test_a_finished_encounter_whose_service_calls_for_a_follow_up_opens_a_recall_task(database, clock, world, ehr):
    clock.set(VISIT + timedelta(hours=2))
    out = apply(database, clock, ehr, _encounter(ended_at=VISIT + timedelta(minutes=40)))
    visit = row(database, Visit, out.id)
    assert (visit.status, visit.follow_up, visit.follow_up_date) == (
        VisitStatus.CHECKED_OUT,
        FollowUp.UNDECIDED,
        date(2026, 4, 4),
    )
    assert visit.checked_out_at == VISIT + timedelta(minutes=40)
    [task] = _tasks(database)
    assert (task.status, task.reason, task.origin_visit_id) == (TaskStatus.OPEN, TaskReason.UNDECIDED, visit.id)


def test_a_service_without_a_follow_up_interval_is_checked_out_as_not_needed(database, clock, world, ehr):
    clock.set(VISIT + timedelta(hours=2))
    out = apply(database, clock, ehr, _encounter(service_ref="S-ENT", ended_at=VISIT + timedelta(minutes=20)))
    assert row(database, Visit, out.id).follow_up is FollowUp.NOT_NEEDED
    assert _tasks(database) == []


def test_a_patient_with_a_later_booking_has_it_as_the_follow_up_and_losing_it_reopens_recall(
    database, clock, world, ehr
):
    later = VISIT + timedelta(days=30)
    apply(
        database,
        clock,
        ehr,
        AppointmentRecord(
            ref="A-9", patient_ref="P-1", service_ref="S-30", start_at=later, state=AppointmentState.BOOKED
        ),
    )
    clock.set(VISIT + timedelta(hours=2))
    out = apply(database, clock, ehr, _encounter(ended_at=VISIT + timedelta(minutes=40)))
    visit = row(database, Visit, out.id)
    follow = booking(database, "A-9", world.a.clinic.id)
    assert (visit.follow_up, visit.follow_up_booking_id, follow.follow_up_of_visit_id) == (
        FollowUp.BOOKED,
        follow.id,
        visit.id,
    )
    assert _tasks(database) == []
    with database.writer() as s:
        cancel_booking(s, clock, ehr, follow.id)
    [task] = _tasks(database)
    assert (task.reason, task.origin_visit_id) == (TaskReason.BOOKING_CANCELLED, visit.id)


def test_an_encounter_for_a_booked_appointment_attends_the_booking(database, clock, world, ehr):
    apply(
        database,
        clock,
        ehr,
        AppointmentRecord(
            ref="A-1", patient_ref="P-1", service_ref="S-30", start_at=VISIT, state=AppointmentState.BOOKED
        ),
    )
    clock.set(VISIT + timedelta(hours=1))
    out = apply(database, clock, ehr, _encounter(appointment_ref="A-1"))
    made = booking(database, "A-1", world.a.clinic.id)
    assert made.status is BookingStatus.ATTENDED
    assert row(database, Visit, out.id).booking_id == made.id


def test_an_encounter_for_an_appointment_already_attended_is_linked_to_it(database, clock, world, ehr):
    appointment = dict(ref="A-1", patient_ref="P-1", service_ref="S-30", start_at=VISIT)
    apply(database, clock, ehr, AppointmentRecord(**appointment, state=AppointmentState.BOOKED))
    clock.set(VISIT + timedelta(hours=1))
    apply(database, clock, ehr, AppointmentRecord(**appointment, state=AppointmentState.FULFILLED))
    out = apply(database, clock, ehr, _encounter(appointment_ref="A-1"))
    assert out.result is Result.CREATED
    made = booking(database, "A-1", world.a.clinic.id)
    assert row(database, Visit, out.id).booking_id == made.id
    assert credit(database, made.id) == []  # nobody was credited, and attending twice earned nothing twice


def test_importing_the_same_encounter_again_changes_nothing_and_its_end_checks_it_out(database, clock, world, ehr):
    clock.set(VISIT + timedelta(hours=2))
    first = apply(database, clock, ehr, _encounter())
    before = snapshot(database)
    assert apply(database, clock, ehr, _encounter()).result is Result.UNCHANGED
    assert snapshot(database) == before
    ended = apply(database, clock, ehr, _encounter(ended_at=VISIT + timedelta(minutes=30)))
    assert (ended.result, ended.id) == (Result.UPDATED, first.id)
    before = snapshot(database)
    assert apply(database, clock, ehr, _encounter(ended_at=VISIT + timedelta(minutes=30))).result is Result.UNCHANGED
    assert snapshot(database) == before
    assert count(database, Visit) == 1 and len(_tasks(database)) == 1


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"patient_ref": "P-404"}, "patient_ref"),
        ({"service_ref": "S-404"}, "service_ref"),
        ({"started_at": VISIT + timedelta(days=3)}, "started_at"),
        ({"ended_at": VISIT - timedelta(minutes=1)}, "ended_at"),
    ],
)
def test_an_encounter_our_rules_refuse_is_reported_on_its_field_and_nothing_is_written(
    database, clock, world, ehr, fields, field
):
    clock.set(VISIT + timedelta(hours=2))
    before = snapshot(database)
    out = apply(database, clock, ehr, _encounter(**fields))
    assert out.result is Result.REFUSED and list(out.errors) == [field], out.errors
    assert snapshot(database) == before


def test_a_second_encounter_while_the_first_is_open_is_refused_naming_the_patient(database, clock, world, ehr):
    clock.set(VISIT + timedelta(hours=2))
    apply(database, clock, ehr, _encounter())
    out = apply(database, clock, ehr, _encounter(ref="E-2", started_at=VISIT + timedelta(hours=1)))
    assert out.result is Result.REFUSED and "still checked in" in out.errors["patient_ref"][0]
    assert count(database, Visit) == 1
