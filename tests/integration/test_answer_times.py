"""Time to answer against waits worked out by hand, on SQLite and PostgreSQL.

The clinic is in Europe/Stockholm; 2026-10-25 is the day clocks go back (25 hours long, 03:00 CEST becomes
02:00 CET at 01:00 UTC): a wait across that night is an hour longer than the wall clock shows.
"""

from __future__ import annotations

from typing import Any

import pytest

from recall.clinic.clinics import get_clinic, update_clinic
from recall.common.actors import Actor
from recall.common.db import Database
from recall.queue.answer_times import AnswerTimeRow, answer_times
from recall.queue.attempts import Outcome
from recall.queue.tasks import TaskReason
from tests.factories import World
from tests.integration._report_rows import attempt, local, task

NOW = local(10, 26, "09:30")
CALLBACK = Outcome.CALLBACK_REQUESTED


def report(database: Database, world: World, first: int = 25, last: int = 27, **kw: Any) -> list[AnswerTimeRow]:
    with database.reader() as s:
        clinic = get_clinic(s, world.a.clinic.id)
        return answer_times(s, clinic, NOW, start=local(10, first, "00:00"), end=local(10, last, "00:00"), **kw)


@pytest.fixture
def waits(database: Database, world: World) -> dict[str, int]:
    a = world.a
    op1, op2 = a.staff["operator"].id, a.staff["operator2"].id
    # Win-back work first tried on the 25th.
    w1 = task(database, a, created=local(10, 20, "09:00"), due=local(10, 24, "22:00"))
    attempt(database, w1, op1, local(10, 25, "09:00"))  # 12 h after due, across the extra hour
    attempt(database, w1, op2, local(10, 25, "13:00"))  # not the first: no wait of its own
    w2 = task(database, a, created=local(10, 20, "09:00"), due=local(10, 25, "08:00"))
    attempt(database, w2, op2, local(10, 25, "08:30"), CALLBACK, callback_at=local(10, 25, "14:00"))  # 30 min
    attempt(database, w2, op2, local(10, 25, "14:45"))  # the callback, 45 min after its time: on time
    w3 = task(database, a, created=local(10, 20, "09:00"), due=local(10, 25, "10:00"))
    attempt(database, w3, op1, local(10, 25, "10:10"), CALLBACK, callback_at=local(10, 25, "15:00"))  # 10 min
    attempt(database, w3, op1, local(10, 25, "16:30"))  # 90 min after the callback time: late
    x = task(database, a, created=local(10, 20, "09:00"), due=local(10, 25, "11:00"))
    attempt(database, x, op1, local(10, 25, "10:50"), CALLBACK, callback_at=local(10, 26, "09:00"))  # early: 0
    y = task(database, a, created=local(10, 20, "09:00"), due=local(10, 25, "11:00"))
    attempt(database, y, op1, local(10, 25, "11:30"), CALLBACK, callback_at=local(10, 25, "18:00"))  # 30 min
    # First tried on the 23rd: the 25th's attempt on it is no first answer.
    w4 = task(database, a, created=local(10, 20, "09:00"), due=local(10, 22, "09:00"))
    attempt(database, w4, op1, local(10, 23, "09:00"))
    attempt(database, w4, op2, local(10, 25, "09:00"))
    # Patients' requests: 8.5 h (asked at 00:30 CEST, called at 08:00 CET) and 20 minutes.
    r1 = task(database, a, created=local(10, 25, "00:30"), reason=TaskReason.PATIENT_REQUEST)
    attempt(database, r1, op1, local(10, 25, "08:00"))
    r2 = task(database, a, created=local(10, 25, "12:00"), reason=TaskReason.PATIENT_REQUEST)
    attempt(database, r2, op2, local(10, 25, "12:20"))
    # A reminder call is neither; another clinic's work is not here.
    call = task(database, a, created=local(10, 25, "07:00"), reason=TaskReason.REMINDER_CALL)
    attempt(database, call, op1, local(10, 25, "09:30"))
    other = task(database, world.b, created=local(10, 25, "07:00"))
    attempt(database, other, world.b.staff["operator"].id, local(10, 25, "09:30"))
    return {"op1": op1, "op2": op2}


def waits_of(row: AnswerTimeRow, kind: str) -> tuple[Any, Any]:
    return getattr(row, f"{kind}_wait_median"), getattr(row, f"{kind}_wait_p90")


def test_win_back_work_waits_from_due_to_its_first_attempt(database, world, waits):
    team, op1, op2 = report(database, world, last=26)
    assert (team.staff_id, op1.staff_id, op2.staff_id) == (None, waits["op1"], waits["op2"])
    # Team: 0, 600, 1800, 1800, 43200 s.
    assert team.winback_tasks == 5 and waits_of(team, "winback") == (1800, pytest.approx(1800 + 0.6 * 41400))
    assert op1.winback_tasks == 4 and waits_of(op1, "winback") == (1200, pytest.approx(1800 + 0.7 * 41400))
    assert op2.winback_tasks == 1 and waits_of(op2, "winback") == (1800, 1800)


def test_a_patients_request_waits_from_the_request_to_its_first_attempt(database, world, waits):
    team, op1, op2 = report(database, world, last=26)
    assert team.requests == 2 and waits_of(team, "request") == (15900, pytest.approx(1200 + 0.9 * 29400))
    assert (op1.requests, waits_of(op1, "request")) == (1, (30600, 30600))
    assert (op2.requests, waits_of(op2, "request")) == (1, (1200, 1200))


def test_a_callback_is_on_time_within_the_hold_window_and_late_after_it(database, world, waits):
    day, _, _, next_day, _ = report(database, world)
    assert (day.callbacks, day.callbacks_on_time, day.callbacks_late, day.callbacks_pending) == (3, 1, 2, 0)
    assert day.callback_on_time_share == pytest.approx(1 / 3)
    assert waits_of(day, "callback") == (4050, pytest.approx(5130))
    # Tomorrow's callback, due at 09:00 and not made by 09:30: its hour is not over, it is pending.
    assert (next_day.callbacks, next_day.callbacks_pending, next_day.callback_on_time_share) == (0, 1, None)


def test_a_longer_hold_window_puts_the_late_callback_on_time(database, world, waits):
    with database.writer() as s:
        update_clinic(s, Actor.system(world.a.clinic.id), {"recall_callback_hold_minutes": 90})
    day = report(database, world, last=26)[0]
    assert (day.callbacks_on_time, day.callbacks_late) == (2, 1)


def test_the_filters_narrow_every_row(database, world, waits):
    mine = report(database, world, last=26, staff_id=waits["op2"])
    assert [(r.staff_id, r.winback_tasks, r.requests, r.callbacks_on_time) for r in mine] == [
        (None, 1, 1, 1),
        (waits["op2"], 1, 1, 1),
    ]
    requests = report(database, world, last=26, reason=TaskReason.PATIENT_REQUEST)
    assert (requests[0].winback_tasks, requests[0].requests, requests[0].callbacks) == (0, 2, 0)


def test_weeks_and_an_empty_period(database, world, waits):
    weeks = report(database, world, first=19, last=27, group="week")
    assert [(str(r.period_start), r.staff_id, r.winback_tasks) for r in weeks if r.staff_id is None] == [
        ("2026-10-19", None, 6),
        ("2026-10-26", None, 0),
    ]
    empty = report(database, world, first=1, last=2)
    assert len(empty) == 1 and empty[0].winback_tasks == 0 and waits_of(empty[0], "winback") == (None, None)
