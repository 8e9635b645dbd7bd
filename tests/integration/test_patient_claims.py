"""One patient, one operator: a claim hands out a patient's work together, and nobody else gets any of it.

Through the use cases on every configured database; the races with real threads and processes are in
test_patient_claims_concurrency.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.common.db import make_engine
from recall.common.errors import Conflict
from recall.migrate import downgrade, upgrade
from recall.queue.attempts import AttemptInput, Outcome, log_attempt
from recall.queue.claims import Claim, claim_next, release_lease, renew_lease
from recall.queue.tasks import CloseReason, PatientClaim, RecallTask, TaskReason, TaskStatus
from recall.visits.visits import Visit, VisitStatus
from tests.factories import make_booking, make_patient, make_task

LEASE = timedelta(minutes=15)


def _claim(database, clock, actor) -> Claim:
    with database.writer() as s:
        return claim_next(s, clock, actor)


def _ids(claim: Claim) -> list[int]:
    return [t.id for t in claim.tasks]


def _leases(database, patient_id) -> dict[int, tuple[int | None, object]]:
    with database.reader() as s:
        return {
            t.id: (t.lease_holder_id, t.lease_expires_at)
            for t in s.scalars(sa.select(RecallTask).where(RecallTask.patient_id == patient_id))
        }


def _settle(database, clock, actor, task_id, outcome=Outcome.DECLINED) -> None:
    extra = {"decline_reason": "not now"} if outcome is Outcome.DECLINED else {}
    with database.writer() as s:
        log_attempt(s, clock, actor, task_id, AttemptInput(outcome=outcome, **extra))


@pytest.fixture
def busy(database, clock, world, people):
    """A patient with two visits' win-back work and a request of theirs, all due; a win-back task due tomorrow;
    and another patient with one due task, less overdue than all of the first patient's."""
    a, now = world.a.clinic.id, clock.now()
    p = make_patient(database, clock, a, full_name="Many Tasks").id
    q = make_patient(database, clock, a, full_name="One Task", phone="070-111 22 33").id
    tasks = {
        "winback": make_task(database, clock, a, p, due_at=now - timedelta(days=5)).id,
        "winback2": make_task(database, clock, a, p, due_at=now - timedelta(days=2), reason=TaskReason.DECLINED).id,
        "request": make_task(
            database,
            clock,
            a,
            p,
            due_at=now - timedelta(hours=1),
            reason=TaskReason.PATIENT_REQUEST,
            request_text="Can I come on Friday instead?",
        ).id,
        "later": make_task(database, clock, a, p, due_at=now + timedelta(days=1)).id,
        "other": make_task(database, clock, a, q, due_at=now - timedelta(days=1)).id,
    }
    return p, q, tasks


def test_a_claim_hands_out_every_due_task_of_the_patient_leased_together(database, clock, people, busy):
    p, _, t = busy
    claim = _claim(database, clock, people["operator"])
    # The patient's request is service work, so it comes up first, and it brings the patient's win-back work.
    assert claim.task is not None and claim.task.id == t["request"]
    assert _ids(claim) == [t["request"], t["winback"], t["winback2"]]
    me, until = people["operator"].staff_id, clock.now() + LEASE
    assert all((task.lease_holder_id, task.lease_expires_at) == (me, until) for task in claim.tasks)
    assert _leases(database, p) == {
        t["request"]: (me, until),
        t["winback"]: (me, until),
        t["winback2"]: (me, until),
        t["later"]: (None, None),
    }


def test_while_an_operator_holds_a_patient_no_task_of_theirs_goes_to_anyone_else(database, clock, world, people, busy):
    p, _, t = busy
    first = _claim(database, clock, people["operator"])
    assert _ids(first) == [t["request"], t["winback"], t["winback2"]]
    # New work for the same patient while they are held: a reminder call falls due, tomorrow's task comes due.
    call = make_task(database, clock, world.a.clinic.id, p, reason=TaskReason.REMINDER_CALL).id
    clock.advance(timedelta(days=1))
    with database.writer() as s:  # the lease would lapse over a day: keep it
        renew_lease(s, clock, people["operator"], t["winback"])
    second = _claim(database, clock, people["operator2"])
    assert _ids(second) == [t["other"]], "the other patient, never the held one"
    assert _claim(database, clock, people["manager"]).task is None
    # Settle each task of the claim, one attempt each: the patient is free once none is held.
    _settle(database, clock, people["operator"], t["request"], Outcome.RESOLVED)
    _settle(database, clock, people["operator"], t["winback"])
    assert _claim(database, clock, people["manager"]).task is None, "still held through winback2"
    _settle(database, clock, people["operator"], t["winback2"], Outcome.NO_ANSWER)
    third = _claim(database, clock, people["manager"])
    assert _ids(third) == [call, t["later"]]


def test_an_operator_who_claims_again_gets_the_patients_new_task_with_the_ones_held(
    database, clock, world, people, busy
):
    p, _, t = busy
    _claim(database, clock, people["operator"])
    call = make_task(database, clock, world.a.clinic.id, p, reason=TaskReason.REMINDER_CALL).id
    clock.advance(timedelta(minutes=5))
    again = _claim(database, clock, people["operator"])
    assert _ids(again) == [call, t["request"], t["winback"], t["winback2"]]
    assert {task.lease_expires_at for task in again.tasks} == {clock.now() + LEASE}


def test_renewing_or_releasing_one_task_covers_every_task_the_caller_holds_of_that_patient(
    database, clock, people, busy
):
    p, _, t = busy
    me = people["operator"].staff_id
    _claim(database, clock, people["operator"])
    clock.advance(timedelta(minutes=10))
    with database.writer() as s:
        renewed = renew_lease(s, clock, people["operator"], t["winback2"])
    until = clock.now() + LEASE
    assert renewed.lease_expires_at == until
    assert _leases(database, p) == {
        t["request"]: (me, until),
        t["winback"]: (me, until),
        t["winback2"]: (me, until),
        t["later"]: (None, None),
    }
    with database.writer() as s:
        release_lease(s, clock, people["operator"], t["winback"])
    assert set(_leases(database, p).values()) == {(None, None)}
    assert _ids(_claim(database, clock, people["operator2"])) == [t["request"], t["winback"], t["winback2"]]
    with database.writer() as s:  # a manager frees the whole patient too
        release_lease(s, clock, people["manager"], t["request"])
    assert set(_leases(database, p).values()) == {(None, None)}


def test_a_lapsed_holder_loses_the_whole_patient_and_can_neither_renew_nor_log(database, clock, people, busy):
    p, _, t = busy
    _claim(database, clock, people["operator"])
    clock.advance(LEASE)
    taken = _claim(database, clock, people["operator2"])
    assert _ids(taken) == [t["request"], t["winback"], t["winback2"]]
    for task_id in (t["request"], t["winback"]):
        with database.writer() as s, pytest.raises(Conflict):
            renew_lease(s, clock, people["operator"], task_id)
        with database.writer() as s, pytest.raises(Conflict):
            log_attempt(s, clock, people["operator"], task_id, AttemptInput(outcome=Outcome.NO_ANSWER))
    other = people["operator2"].staff_id
    assert {holder for holder, _ in _leases(database, p).values()} == {other, None}
    with database.reader() as s:
        assert s.get(PatientClaim, p).holder_id == other


def test_a_callback_reserved_for_another_operator_waits_while_the_patient_is_held(database, clock, world, people):
    a, now = world.a.clinic.id, clock.now()
    p = make_patient(database, clock, a).id
    callback = make_task(
        database,
        clock,
        a,
        p,
        due_at=now - timedelta(minutes=1),
        reserved_for_id=people["operator2"].staff_id,
        reserved_until=now + timedelta(hours=1),
    ).id
    winback = make_task(database, clock, a, p, due_at=now - timedelta(days=3)).id
    held = _claim(database, clock, people["operator"])
    assert _ids(held) == [winback], "the reserved callback is not the first operator's to work"
    assert _claim(database, clock, people["operator2"]).task is None, "not even their own callback, for now"
    _settle(database, clock, people["operator"], winback)
    assert _ids(_claim(database, clock, people["operator2"])) == [callback]


def test_a_reminder_call_brings_no_win_back_work_of_a_patient_who_is_booked(database, clock, world, people):
    a = world.a.clinic.id
    p = make_patient(database, clock, a).id
    winback = make_task(
        database, clock, a, p, due_at=clock.now() - timedelta(days=3), now=clock.now() - timedelta(days=3)
    ).id
    booking = make_booking(database, clock, world.a, days=2, patient_id=p).id
    call = make_task(database, clock, a, p, reason=TaskReason.REMINDER_CALL, origin_booking_id=booking).id
    claim = _claim(database, clock, people["operator"])
    assert _ids(claim) == [call] and claim.closed_on_the_way == 1
    with database.reader() as s:
        closed = s.get(RecallTask, winback)
        assert (closed.status, closed.close_reason, closed.lease_holder_id) == (
            TaskStatus.WON,
            CloseReason.BOOKED_ELSEWHERE,
            None,
        )


def test_the_database_refuses_a_second_operators_lease_on_a_held_patient(database, clock, people, busy):
    """Whatever code writes it: every lease names the holder of the patient's one claim row."""
    p, _, t = busy
    _claim(database, clock, people["operator"])
    with database.writer() as s:
        s.execute(
            sa.update(RecallTask)
            .where(RecallTask.id == t["later"])
            .values(lease_holder_id=people["operator2"].staff_id, lease_expires_at=clock.now() + LEASE)
        )
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()
        s.rollback()
    with database.writer() as s:  # nor a second claim row for the patient
        s.add(PatientClaim(patient_id=p, holder_id=people["operator2"].staff_id, claimed_at=clock.now()))
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()
        s.rollback()
    assert {holder for holder, _ in _leases(database, p).values()} == {people["operator"].staff_id, None}


def test_the_migration_keeps_one_holder_per_patient_and_refuses_two_open_visits(database, db_url, clock, world, people):
    """Rows from before 0008: two operators' leases on one patient; the longer one stays, with its claim row.
    A patient with two open visits stops the upgrade until one is checked out."""
    a, now = world.a.clinic.id, clock.now()
    p = make_patient(database, clock, a).id
    first, second = (make_task(database, clock, a, p).id for _ in range(2))
    op1, op2 = people["operator"].staff_id, people["operator2"].staff_id
    database.dispose()
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0006")
        with engine.begin() as conn:
            for task_id, holder, minutes in ((first, op1, 10), (second, op2, 5)):
                conn.execute(
                    sa.update(RecallTask)
                    .where(RecallTask.id == task_id)
                    .values(lease_holder_id=holder, lease_expires_at=now + timedelta(minutes=minutes))
                )
            for _ in range(2):
                conn.execute(
                    sa.insert(Visit).values(
                        clinic_id=a,
                        patient_id=p,
                        status=VisitStatus.CHECKED_IN,
                        checked_in_at=now,
                        checked_in_by_id=people["frontdesk"].staff_id,
                    )
                )
        with pytest.raises(RuntimeError, match="1 patients have more than one visit checked in"):
            upgrade(engine)
        with engine.begin() as conn:
            latest = conn.scalar(sa.select(sa.func.max(Visit.id)))
            conn.execute(
                sa.update(Visit).where(Visit.id == latest).values(status=VisitStatus.CHECKED_OUT, checked_out_at=now)
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert dict(
                conn.execute(
                    sa.select(RecallTask.id, RecallTask.lease_holder_id).where(RecallTask.patient_id == p)
                ).all()
            ) == {first: op1, second: None}
            assert conn.execute(sa.select(PatientClaim.patient_id, PatientClaim.holder_id)).all() == [(p, op1)]
    finally:
        upgrade(engine)
        engine.dispose()
