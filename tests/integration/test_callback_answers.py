"""Each callback request keeps the start of its task's next attempt (``note_callbacks``), whatever the order
attempts are logged in, as the definition gives it: the earliest attempt after the request in (started_at, id)
order. Time to answer reads it; migration 0021 fills it in for the attempts logged before."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.common.db import make_engine
from recall.migrate import downgrade, upgrade
from recall.queue.attempts import AttemptInput, ContactAttempt, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import RecallTask
from tests.factories import make_patient, make_task
from tests.integration._report_rows import attempt, task

pytestmark = pytest.mark.db
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _kept(engine) -> tuple[dict[int, datetime | None], dict[int, bool]]:
    with engine.connect() as conn:
        a, t = ContactAttempt, RecallTask
        requests = conn.execute(sa.select(a.id, a.next_attempt_at).where(a.outcome == Outcome.CALLBACK_REQUESTED))
        return dict(requests.all()), dict(conn.execute(sa.select(t.id, t.callback_unanswered)).all())


def _defined(engine) -> tuple[dict[int, datetime | None], dict[int, bool]]:
    """The definition, from the attempts themselves: the next attempt of the task in (started_at, id) order."""
    with engine.connect() as conn:
        a = ContactAttempt
        rows = conn.execute(sa.select(a.id, a.task_id, a.outcome, a.started_at).order_by(a.id)).all()
        tasks = conn.scalars(sa.select(RecallTask.id)).all()
    nexts: dict[int, datetime | None] = {}
    for r in rows:
        if r.outcome is Outcome.CALLBACK_REQUESTED:
            later = [
                x.started_at for x in rows if x.task_id == r.task_id and (x.started_at, x.id) > (r.started_at, r.id)
            ]
            nexts[r.id] = min(later, default=None)
    waiting = {r.task_id for r in rows if r.outcome is Outcome.CALLBACK_REQUESTED and nexts[r.id] is None}
    return nexts, {t: t in waiting for t in tasks}


def _history(database, a, seed: int) -> None:
    """Tasks whose attempts are logged out of time order, with ties, callbacks among them."""
    rng = random.Random(seed)
    op = a.staff["operator"].id
    for _ in range(6):
        t = task(database, a, created=T0)
        for _ in range(rng.randint(1, 6)):
            start = T0 + timedelta(minutes=10 * rng.randint(0, 8))  # few distinct minutes: ties happen
            outcome = Outcome.CALLBACK_REQUESTED if rng.random() < 0.5 else Outcome.NO_ANSWER
            attempt(
                database,
                t,
                op,
                start,
                outcome,
                callback_at=start + timedelta(days=1) if outcome is Outcome.CALLBACK_REQUESTED else None,
            )


@pytest.mark.parametrize("seed", range(8))
def test_the_kept_next_attempt_is_the_definitions_in_any_logging_order(database, world, seed):
    _history(database, world.a, seed)
    assert _kept(database.engine) == _defined(database.engine)


def test_the_backfill_gives_each_request_the_next_attempt_the_definition_gives(database, db_url, world):
    _history(database, world.a, seed=99)
    database.dispose()
    engine = make_engine(db_url)
    try:
        kept = _kept(engine)
        assert kept == _defined(engine)
        downgrade(engine, "0020")
        upgrade(engine)
        assert _kept(engine) == kept
    finally:
        engine.dispose()


def test_an_attempt_answers_the_request_before_it_and_writes_nothing_when_none_waits(database, clock, world, people):
    operator = people["operator"]
    patient = make_patient(database, clock, world.a.clinic.id, full_name="Olga Ivanova").id
    held = make_task(database, clock, world.a.clinic.id, patient).id

    def log(**kw):
        with database.writer() as s:
            assert claim_next(s, clock, operator).task is not None
            return log_attempt(s, clock, operator, held, AttemptInput(**kw)).attempt.id

    updates: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        if statement.lstrip().startswith("UPDATE contact_attempts"):
            updates.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        log(outcome=Outcome.NO_ANSWER, duration_seconds=30)
        assert updates == []  # no request waits: no statement for it
        clock.advance(timedelta(hours=4))
        at = clock.now() + timedelta(days=1)
        request = log(outcome=Outcome.CALLBACK_REQUESTED, callback_at=at, duration_seconds=60)
        assert _kept(database.engine)[1][held] is True
        clock.set(at + timedelta(minutes=5))
        answer = log(outcome=Outcome.NO_ANSWER, duration_seconds=120)
        assert len(updates) == 1
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    with database.reader() as s:
        answered = s.get(ContactAttempt, answer)
        assert answered is not None
        assert s.get(ContactAttempt, request).next_attempt_at == answered.started_at == at + timedelta(minutes=3)
        assert s.get(RecallTask, held).callback_unanswered is False
