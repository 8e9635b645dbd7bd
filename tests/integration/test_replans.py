"""A policy save re-plans the clinic's future bookings in short batches, on every configured database.

The batch and the request's share are made small here (``small_batches``), so that a few bookings stand for the
thousands a clinic has: what matters is that the save answers after a bounded share, the worker does the rest,
nothing is planned twice, a crash loses only the batch under way, and no reminder goes out under a replaced
version.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

import config
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.reminders import leases, replans
from recall.reminders import reminders as planning_module
from recall.reminders.planning import Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus, plan_booking
from recall.reminders.replans import ReplanRun, ReplanStatus
from recall.visits.booking import Booking, lock_booking
from recall.worker import WorkerSettings, schedule
from tests.factories import make_booking


def steps(*offsets: int) -> dict[str, Any]:
    return {"steps": [{"offset_minutes": minutes, "channel": "sms"} for minutes in offsets]}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replans, "BATCH", 2)
    monkeypatch.setattr(replans, "INLINE", 4)


def bookings(database: Database, clock: FixedClock, world: Any, count: int) -> list[Booking]:
    return [make_booking(database, clock, world.a, days=2 + i, hour=10) for i in range(count)]


def save(database: Database, clock: FixedClock, people: dict[str, Any], raw: dict[str, Any]) -> None:
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], raw)


def planned(database: Database, booking_id: int) -> list[tuple[int, int]]:
    """The booking's planned reminders as (policy version, offset)."""
    with database.reader() as s:
        rows = s.execute(
            sa.select(Reminder.policy_version, Reminder.offset_minutes)
            .where(Reminder.booking_id == booking_id, Reminder.status == ReminderStatus.PLANNED)
            .order_by(Reminder.offset_minutes)
        )
        return [tuple(r) for r in rows]


def run_of(database: Database, clinic_id: int) -> ReplanRun:
    with database.reader() as s:
        run = replans.latest(s, clinic_id)
        assert run is not None
        return run


def count_reminders(database: Database) -> int:
    with database.reader() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Reminder)) or 0


def test_a_save_answers_after_a_bounded_share_and_the_worker_replans_the_rest_soonest_first(
    database, clock, world, people, small_batches
):
    made = bookings(database, clock, world, 9)
    save(database, clock, people, steps(1440 * 1 + 60))
    run = run_of(database, world.a.clinic.id)
    assert (run.status, run.policy_version, run.total, run.done) == ("running", 1, 9, 4)
    assert [planned(database, b.id) for b in made[:4]] == [[(1, 1500)]] * 4
    assert all(v == 0 for b in made[4:] for v, _ in planned(database, b.id))  # still the default's, not yet due

    assert replans.work(database, clock) == 3  # two batches of two, and the last one that finds one
    run = run_of(database, world.a.clinic.id)
    assert (run.status, run.done, run.total, run.finished_at) == ("done", 9, 9, clock.now())
    assert [planned(database, b.id) for b in made] == [[(1, 1500)]] * 9


def test_a_stale_reminder_falling_due_is_replanned_ahead_of_the_soonest_first_pass(
    database, clock, world, people, small_batches
):
    near = bookings(database, clock, world, 6)
    # The default's 24-hour SMS of this one is due in five minutes; every other booking starts sooner.
    late = make_booking(database, clock, world.a, start_at=clock.now() + timedelta(days=8))
    with database.writer() as s:
        s.execute(
            sa.update(Reminder)
            .where(Reminder.booking_id == late.id, Reminder.offset_minutes == 1440)
            .values(due_at=clock.now() + timedelta(minutes=5))
        )
        s.commit()
    save(database, clock, people, steps(1440 * 3))
    run = run_of(database, world.a.clinic.id)
    assert run.status == "running" and run.done < run.total
    assert planned(database, late.id) == [(1, 4320)]  # planned again under the version in force
    assert any(v == 0 for b in near for v, _ in planned(database, b.id))  # while the pass is not done


def test_while_a_replan_is_under_way_the_claim_passes_over_reminders_of_the_replaced_version(
    database, clock, world, people
):
    booking = make_booking(database, clock, world.a, days=3)
    with database.writer() as s:
        stale_one = s.scalars(sa.select(Reminder).where(Reminder.booking_id == booking.id).limit(1)).one()
        backup = Reminder(
            **{c: getattr(stale_one, c) for c in ("clinic_id", "booking_id", "patient_id", "policy_version")},
            step_index=0,
            offset_minutes=1,
            channel=stale_one.channel,
            fallback=Fallback.NONE,
            fallback_of_id=stale_one.id,
            status=ReminderStatus.PLANNED,
            send_at=clock.now(),
            due_at=clock.now(),
            attempts=0,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        s.add(backup)
        s.execute(sa.update(Reminder).where(Reminder.id == stale_one.id).values(due_at=clock.now()))
        run = replans.start(s, world.a.clinic.id, stale_one.policy_version + 1, clock.now(), None)
        s.commit()
    statement = leases.claim_statement(database.dialect == "postgresql")
    first = leases.claim(database, statement, clock.now(), 10, timedelta(minutes=5), "w1")
    assert [c.id for c in first] == [backup.id]  # the fallback stands for a step already sent: not held
    with database.writer() as s:
        s.execute(sa.update(ReplanRun).where(ReplanRun.id == run.id).values(status=ReplanStatus.DONE.value))
        s.commit()
    assert [c.id for c in leases.claim(database, statement, clock.now(), 10, timedelta(minutes=5), "w1")] == [
        stale_one.id
    ]


def test_a_batch_that_fails_half_way_writes_nothing_and_the_next_one_goes_on_from_the_cursor(
    database, clock, world, people, small_batches, monkeypatch
):
    made = bookings(database, clock, world, 7)
    save(database, clock, people, steps(1500))
    before = run_of(database, world.a.clinic.id)
    real, calls = planning_module.plan_with, []

    def crash_on_second(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker died here")
        return real(*args, **kw)

    monkeypatch.setattr(replans, "plan_with", crash_on_second)
    with pytest.raises(RuntimeError):
        replans.work(database, clock)
    after = run_of(database, world.a.clinic.id)
    assert (after.done, after.cursor_booking_id) == (before.done, before.cursor_booking_id)
    assert all(v == 0 for v, _ in planned(database, made[4].id))  # the first booking of the lost batch

    monkeypatch.setattr(replans, "plan_with", real)
    replans.work(database, clock)
    assert run_of(database, world.a.clinic.id).status == "done"
    assert [planned(database, b.id) for b in made] == [[(1, 1500)]] * 7


def test_running_a_finished_replan_again_changes_nothing(database, clock, world, people, small_batches):
    made = bookings(database, clock, world, 5)
    save(database, clock, people, steps(1500))
    replans.work(database, clock)
    rows = count_reminders(database)
    with database.writer() as s:
        s.execute(sa.update(ReplanRun).values(status="running", done=0, cursor_start_at=None, cursor_booking_id=None))
        s.commit()
    replans.work(database, clock)
    assert count_reminders(database) == rows
    assert [planned(database, b.id) for b in made] == [[(1, 1500)]] * 5


def test_a_newer_save_supersedes_the_replan_under_way(database, clock, world, people, small_batches):
    made = bookings(database, clock, world, 8)
    save(database, clock, people, steps(1500))
    save(database, clock, people, steps(1560))
    with database.reader() as s:
        runs = s.execute(sa.select(ReplanRun.policy_version, ReplanRun.status).order_by(ReplanRun.id)).all()
    assert [tuple(r) for r in runs] == [(1, "superseded"), (2, "running")]
    replans.work(database, clock)
    assert [planned(database, b.id) for b in made] == [[(2, 1560)]] * 8


def test_a_booking_made_during_the_replan_is_planned_once_under_the_new_version(
    database, clock, world, people, small_batches
):
    bookings(database, clock, world, 6)
    save(database, clock, people, steps(1500))
    newcomer = make_booking(database, clock, world.a, days=30)
    with database.reader() as s:
        ids = set(s.scalars(sa.select(Reminder.id).where(Reminder.booking_id == newcomer.id)))
    replans.work(database, clock)
    with database.reader() as s:
        assert set(s.scalars(sa.select(Reminder.id).where(Reminder.booking_id == newcomer.id))) == ids
    assert planned(database, newcomer.id) == [(1, 1500)]


def test_the_worker_carries_a_replan_to_its_end_by_itself(database, clock, world, people, small_batches):
    made = bookings(database, clock, world, 9)
    save(database, clock, people, steps(1500))
    settings = dataclasses.replace(
        WorkerSettings.from_settings(
            config.load(
                "test", {"PUBLIC_BASE_URL": "https://recall.clinic.example", "TWILIO_BASE_URL": "http://127.0.0.1:9"}
            )
        ),
        worker_interval_seconds=0.2,
    )
    scheduler, _ = schedule(settings, database, clock, blocking=False)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while run_of(database, world.a.clinic.id).status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert run_of(database, world.a.clinic.id).status == "done"
    assert [planned(database, b.id) for b in made] == [[(1, 1500)]] * 9


def test_a_database_refusing_the_requests_share_leaves_the_save_and_the_worker_finishes_the_replan(
    database, clock, world, people, small_batches, monkeypatch
):
    made = bookings(database, clock, world, 3)
    real = replans.run_batch

    def busy(*_args: Any, **_kw: Any) -> Any:
        raise OperationalError("UPDATE reminders", {}, Exception("database is locked"))

    monkeypatch.setattr(replans, "run_batch", busy)
    with database.writer() as s:
        row, _ = replace_policy(s, clock, people["manager"], steps(1500))
    assert row.version == 1
    assert run_of(database, world.a.clinic.id).status == "running"
    monkeypatch.setattr(replans, "run_batch", real)
    replans.work(database, clock)
    assert [planned(database, b.id) for b in made] == [[(1, 1500)]] * 3


def test_a_move_under_way_on_a_booking_of_the_batch_finishes_first_and_the_batch_passes_the_booking_over(
    database, clock, world, people, small_batches
):
    if database.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: a move and a batch cannot overlap there")
    made = bookings(database, clock, world, 7)
    save(database, clock, people, steps(1500))
    run_id = run_of(database, world.a.clinic.id).id
    moving = made[4]  # the first booking of the next batch
    outcome: dict[str, Any] = {}

    def next_batch() -> None:
        try:
            with database.writer() as s:
                outcome["run"] = replans.run_batch(s, run_id, clock.now())
        except Exception as exc:
            outcome["error"] = exc

    with database.writer() as s:  # a move or a confirmation: the booking locked, its reminders planned again
        booking = lock_booking(s, world.a.clinic.id, moving.id)
        plan_booking(s, booking, clock.now(), reason="moved")
        batch = threading.Thread(target=next_batch)
        batch.start()
        time.sleep(0.5)
        s.commit()
    batch.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert planned(database, moving.id) == [(1, 1500)]
    assert planned(database, made[5].id) == [(1, 1500)]
