"""The recall queue through its use cases, on every configured database: order, exclusions, leases, surge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient
from recall.common.actors import Actor
from recall.common.clock import FixedClock
from recall.common.errors import Conflict, Forbidden
from recall.queue.claims import claim_next, release_lease, renew_lease
from recall.queue.service_edits import update_service
from recall.queue.tasks import CloseReason, RecallTask, TaskStatus
from recall.reminders.patient_edits import update_patient
from recall.visits.bookings import Channel, Source
from tests.factories import make_booking, make_patient, make_service, make_task

UTC = UTC


def _claim(database, clock, actor):
    with database.writer() as s:
        claim = claim_next(s, clock, actor)
        return claim.task.id if claim.task else None


def _task(database, task_id) -> RecallTask:
    with database.reader() as s:
        task = s.get(RecallTask, task_id)
        assert task is not None
        return task


def _set_clinic(database, clinic_id, **values):
    with database.writer() as s:
        s.execute(sa.update(Clinic).where(Clinic.id == clinic_id).values(**values))
        s.commit()


def _patient(database, clock, world, **kw):
    return make_patient(database, clock, world.a.clinic.id, **kw).id


# --- order ----------------------------------------------------------------------------------------------------------


def test_the_most_overdue_task_comes_first(database, clock, world, people):
    a = world.a.clinic.id
    recent = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=1))
    oldest = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=9))
    make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() + timedelta(hours=1))
    assert _claim(database, clock, people["operator"]) == oldest.id
    assert _claim(database, clock, people["operator2"]) == recent.id
    assert _claim(database, clock, people["manager"]) is None, "a task due in an hour is not handed out yet"


def test_a_valuable_service_moves_ahead_by_a_day_per_point_of_weight(database, clock, world, people):
    a = world.a.clinic.id
    implant = make_service(database, clock, a, name="Implant review", value_weight=3.0).id
    plain = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=3))
    valuable = make_task(
        database, clock, a, _patient(database, clock, world), service_id=implant, due_at=clock.now() - timedelta(days=2)
    )  # ranks as 4 days overdue
    assert _claim(database, clock, people["operator"]) == valuable.id
    assert _claim(database, clock, people["operator"]) == plain.id


def test_changing_a_services_weight_reorders_its_waiting_tasks(database, clock, world, people):
    a = world.a.clinic.id
    service = world.a.services[0].id
    plain = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=3))
    cheap = make_task(
        database, clock, a, _patient(database, clock, world), service_id=service, due_at=clock.now() - timedelta(days=2)
    )
    assert _claim(database, clock, people["operator"]) == plain.id
    with database.writer() as s:
        release_lease(s, clock, people["operator"], plain.id)
    with database.writer() as s:
        update_service(s, Actor.system(a), service, {"value_weight": 2.5})
    assert _task(database, cheap.id).value_weight == 2.5
    assert _claim(database, clock, people["operator"]) == cheap.id


def test_a_callback_reserved_for_the_operator_comes_before_everything_else(database, clock, world, people):
    a = world.a.clinic.id
    make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=30))
    callback = make_task(
        database,
        clock,
        a,
        _patient(database, clock, world),
        due_at=clock.now() - timedelta(minutes=5),
        reserved_for_id=people["operator2"].staff_id,
        reserved_until=clock.now() + timedelta(minutes=55),
    )
    assert _claim(database, clock, people["operator"]) != callback.id, "reserved for someone else"
    assert _claim(database, clock, people["operator2"]) == callback.id


def test_a_reserved_callback_opens_to_anyone_after_the_hold_window(database, clock, world, people):
    a = world.a.clinic.id
    callback = make_task(
        database,
        clock,
        a,
        _patient(database, clock, world),
        due_at=clock.now() - timedelta(hours=2),
        reserved_for_id=people["operator2"].staff_id,
        reserved_until=clock.now() + timedelta(minutes=10),
    )
    assert _claim(database, clock, people["operator"]) is None
    clock.advance(timedelta(minutes=11))
    assert _claim(database, clock, people["operator"]) == callback.id


# --- who is never handed out ----------------------------------------------------------------------------------------


def test_an_opted_out_patient_or_a_wrong_number_is_never_handed_out(database, clock, world, people):
    a = world.a.clinic.id
    gone = _patient(database, clock, world)
    wrong = _patient(database, clock, world)
    make_task(database, clock, a, gone)
    make_task(database, clock, a, wrong)
    with database.writer() as s:
        s.execute(sa.update(Patient).where(Patient.id == gone).values(opted_out=True))
        s.execute(sa.update(Patient).where(Patient.id == wrong).values(phone_invalid=True))
        s.commit()
    assert _claim(database, clock, people["operator"]) is None


def test_a_patient_outside_their_local_calling_hours_waits(database, clock, world, people):
    # 08:00 UTC on Monday: 09:00 in Stockholm (open), 03:00 in New York (closed).
    a = world.a.clinic.id
    far = make_task(database, clock, a, _patient(database, clock, world, timezone="America/New_York"))
    assert _claim(database, clock, people["operator"]) is None
    clock.advance(timedelta(hours=6))  # 10:00 in New York
    assert _claim(database, clock, people["operator"]) == far.id


@pytest.mark.parametrize(
    "zone,closed_at,open_at",
    [
        # Stockholm springs forward on 2026-03-29: 07:30 UTC is 08:30 on Friday, 09:30 on Monday.
        ("Europe/Stockholm", datetime(2026, 3, 27, 7, 30, tzinfo=UTC), datetime(2026, 3, 30, 7, 30, tzinfo=UTC)),
        # New York springs forward on 2026-03-08: 13:30 UTC is 08:30 on Friday, 09:30 on Monday.
        ("America/New_York", datetime(2026, 3, 6, 13, 30, tzinfo=UTC), datetime(2026, 3, 9, 13, 30, tzinfo=UTC)),
    ],
)
def test_calling_hours_follow_the_patients_clock_across_a_dst_change(database, world, people, zone, closed_at, open_at):
    clock = FixedClock(closed_at)
    task = make_task(
        database,
        clock,
        world.a.clinic.id,
        _patient(database, clock, world, timezone=zone),
        due_at=closed_at - timedelta(days=1),
    )
    assert _claim(database, clock, people["operator"]) is None, "the same UTC time was before 09:00 local"
    clock.set(open_at)
    assert _claim(database, clock, people["operator"]) == task.id


def test_weekend_calling_hours_apply_on_the_weekend(database, world, people):
    saturday_9_30 = datetime(2026, 3, 7, 8, 30, tzinfo=UTC)  # 09:30 in Stockholm; weekend hours start at 10:00
    clock = FixedClock(saturday_9_30)
    task = make_task(database, clock, world.a.clinic.id, _patient(database, clock, world))
    assert _claim(database, clock, people["operator"]) is None
    clock.advance(timedelta(minutes=30))
    assert _claim(database, clock, people["operator"]) == task.id


def test_a_task_whose_patient_booked_meanwhile_closes_itself_as_won(database, clock, world, people):
    a = world.a.clinic.id
    patient = _patient(database, clock, world)
    task = make_task(
        database, clock, a, patient, due_at=clock.now() - timedelta(days=2), now=clock.now() - timedelta(days=2)
    )
    booking = make_booking(
        database,
        clock,
        world.a,
        by=people["frontdesk"],
        start_at=clock.now() + timedelta(days=3),
        patient_id=patient,
        channel=Channel.IN_PERSON,
    )
    other = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=1))
    with database.writer() as s:
        claim = claim_next(s, clock, people["operator"])
        assert claim.task is not None and claim.task.id == other.id and claim.closed_on_the_way == 1
    closed = _task(database, task.id)
    assert (closed.status, closed.close_reason, closed.booking_id) == (
        TaskStatus.WON,
        CloseReason.BOOKED_ELSEWHERE,
        booking.id,
    )


def test_a_task_opened_after_the_patients_booking_closes_itself_as_obsolete(database, clock, world, people):
    a = world.a.clinic.id
    patient = _patient(database, clock, world)
    make_booking(database, clock, world.a, start_at=clock.now() + timedelta(days=3), patient_id=patient)
    task = make_task(database, clock, a, patient, now=clock.now() + timedelta(minutes=1))
    assert _claim(database, clock, people["operator"]) is None
    assert (_task(database, task.id).status, _task(database, task.id).close_reason) == (
        TaskStatus.CLOSED,
        CloseReason.ALREADY_BOOKED,
    )


# --- leases ---------------------------------------------------------------------------------------------------------


def test_a_leased_task_goes_to_nobody_else_until_the_lease_lapses(database, clock, world, people):
    task = make_task(database, clock, world.a.clinic.id, _patient(database, clock, world))
    assert _claim(database, clock, people["operator"]) == task.id
    leased = _task(database, task.id)
    assert leased.lease_holder_id == people["operator"].staff_id
    assert leased.lease_expires_at == clock.now() + timedelta(minutes=15)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert _claim(database, clock, people["operator2"]) is None
    clock.advance(timedelta(seconds=1))
    assert _claim(database, clock, people["operator2"]) == task.id


def test_renewing_keeps_the_task_and_only_the_holder_may_renew(database, clock, world, people):
    _set_clinic(database, world.a.clinic.id, recall_lease_minutes=5)
    task = make_task(database, clock, world.a.clinic.id, _patient(database, clock, world))
    _claim(database, clock, people["operator"])
    clock.advance(timedelta(minutes=4))
    with database.writer() as s:
        assert renew_lease(s, clock, people["operator"], task.id).lease_expires_at == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=4))
    assert _claim(database, clock, people["operator2"]) is None
    with database.writer() as s, pytest.raises(Conflict):
        renew_lease(s, clock, people["operator2"], task.id)


def test_releasing_returns_the_task_and_a_manager_may_free_anyones(database, clock, world, people):
    task = make_task(database, clock, world.a.clinic.id, _patient(database, clock, world))
    _claim(database, clock, people["operator"])
    with database.writer() as s, pytest.raises(Conflict):
        release_lease(s, clock, people["operator2"], task.id)
    with database.writer() as s:
        release_lease(s, clock, people["manager"], task.id)
    assert _claim(database, clock, people["operator2"]) == task.id
    with database.writer() as s:
        release_lease(s, clock, people["operator2"], task.id)
    assert _task(database, task.id).lease_holder_id is None


def test_the_front_desk_works_no_queue(database, clock, world, people):
    make_task(database, clock, world.a.clinic.id, _patient(database, clock, world))
    with database.writer() as s, pytest.raises(Forbidden):
        claim_next(s, clock, people["frontdesk"])


def test_a_task_leased_by_one_operator_cannot_be_booked_by_another(database, clock, world, people):
    patient = _patient(database, clock, world)
    task = make_task(database, clock, world.a.clinic.id, patient)
    _claim(database, clock, people["operator"])
    with pytest.raises(Conflict):
        make_booking(
            database,
            clock,
            world.a,
            by=people["operator2"],
            start_at=clock.now() + timedelta(days=2),
            patient_id=patient,
            source=Source.RECALL_TASK,
            recall_task_id=task.id,
        )


def test_opting_out_through_the_patient_record_closes_their_open_tasks(database, clock, world, people):
    patient = _patient(database, clock, world)
    tasks = [make_task(database, clock, world.a.clinic.id, patient) for _ in range(2)]
    with database.writer() as s:
        update_patient(s, clock, people["operator"], patient, {"opted_out": True})
    for task in tasks:
        assert (_task(database, task.id).status, _task(database, task.id).close_reason) == (
            TaskStatus.CLOSED,
            CloseReason.OPTED_OUT,
        )


# --- surge ----------------------------------------------------------------------------------------------------------


def test_in_a_surge_the_queue_orders_strictly_by_value_times_overdue_age(database, clock, world, people):
    a = world.a.clinic.id
    implant = make_service(database, clock, a, name="Implant review", value_weight=3.0).id
    old = make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=10))
    valuable = make_task(
        database, clock, a, _patient(database, clock, world), service_id=implant, due_at=clock.now() - timedelta(days=4)
    )
    # Normally: old ranks 10 days overdue, valuable 4 + 2 = 6. In a surge: 1 x 10 = 10 against 3 x 4 = 12.
    assert _claim(database, clock, people["operator"]) == old.id
    with database.writer() as s:
        release_lease(s, clock, people["operator"], old.id)
    _set_clinic(database, a, surge_backlog=2)
    with database.writer() as s:
        claim = claim_next(s, clock, people["operator"])
    assert claim.surge.active and claim.surge.reasons == ["2 or more tasks are due"]
    assert claim.task is not None and claim.task.id == valuable.id


def test_a_surge_starts_on_overdue_age_too_and_ends_below_the_thresholds(database, clock, world, people):
    from recall.queue.surge import surge_status

    a = world.a.clinic.id
    make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=8))
    _set_clinic(database, a, surge_overdue_days=7, surge_overdue_tasks=2, surge_backlog=5)
    with database.reader() as s:
        assert not surge_status(s, s.get(Clinic, a), clock.now()).active
    make_task(database, clock, a, _patient(database, clock, world), due_at=clock.now() - timedelta(days=7))
    with database.reader() as s:
        status = surge_status(s, s.get(Clinic, a), clock.now())
    assert status.active and status.reasons == ["2 or more tasks are 7 or more days overdue"]
