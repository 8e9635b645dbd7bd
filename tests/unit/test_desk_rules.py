"""The desk's rules on their own: which outcomes a task may end with, and the fields each outcome needs."""

from __future__ import annotations

from recall.queue.attempts import SERVICE_OUTCOMES, Outcome
from recall.queue.desk import fields_for, outcomes_for
from recall.queue.tasks import SERVICE_REASONS, TaskReason


def test_service_outcomes_only_end_a_service_call():
    for reason in TaskReason:
        offered = set(outcomes_for(reason))
        if reason in SERVICE_REASONS:
            assert offered == set(Outcome)
        else:
            assert offered == set(Outcome) - set(SERVICE_OUTCOMES)
            assert Outcome.BOOKED in offered


def test_each_outcome_names_the_fields_it_needs():
    assert fields_for(Outcome.DECLINED) == {"decline_reason"}
    assert fields_for(Outcome.CALLBACK_REQUESTED) == {"callback_at"}
    assert fields_for(Outcome.BOOKED) == {"booking"} == fields_for(Outcome.RESCHEDULED)
    for quick in (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL, Outcome.CONFIRMED, Outcome.OPTED_OUT):
        assert fields_for(quick) == frozenset()
