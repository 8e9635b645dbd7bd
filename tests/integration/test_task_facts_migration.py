"""Migration 0019 fills in each task's facts about its attempts from the attempts logged before it, as
``note_attempt`` keeps them since: the reports read the same figures across the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.common.db import make_engine
from recall.migrate import downgrade, upgrade
from recall.queue.attempts import Outcome
from recall.queue.tasks import RecallTask
from tests.integration._report_rows import attempt, task

pytestmark = pytest.mark.db
FACTS = ("first_attempt_at", "first_attempt_by_id", "first_contact_at", "last_attempt_at", "last_attempt_by_id")


def _facts(engine):
    with engine.connect() as conn:
        return {
            r.id: tuple(r[1:])
            for r in conn.execute(sa.select(RecallTask.id, *(RecallTask.__table__.c[c] for c in FACTS)))
        }


def test_the_backfill_gives_each_task_the_facts_its_attempts_gave_it(database, db_url, world):
    a = world.a
    op, op2 = a.staff["operator"].id, a.staff["operator2"].id
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    tried = task(database, a, created=t0)
    attempt(database, tried, op, t0 + timedelta(hours=1))  # unanswered, first
    attempt(database, tried, op2, t0 + timedelta(hours=5), Outcome.DECLINED)  # answered, latest
    attempt(database, tried, op, t0 + timedelta(hours=3), Outcome.CALLBACK_REQUESTED)  # logged late, in between
    same = task(database, a, created=t0)
    attempt(database, same, op, t0 + timedelta(hours=2))
    attempt(database, same, op2, t0 + timedelta(hours=2))  # a tie: the later-logged is the latest, not the first
    untried = task(database, a, created=t0)
    database.dispose()
    engine = make_engine(db_url)
    try:
        kept = _facts(engine)
        assert kept[tried] == (t0 + timedelta(hours=1), op, t0 + timedelta(hours=3), t0 + timedelta(hours=5), op2)
        assert kept[same] == (t0 + timedelta(hours=2), op, None, t0 + timedelta(hours=2), op2)
        assert kept[untried] == (None,) * 5
        downgrade(engine, "0018")
        upgrade(engine)
        assert _facts(engine) == kept
    finally:
        engine.dispose()
