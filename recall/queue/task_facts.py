"""A task's facts about its attempts, kept on the task as each attempt is logged.

The reports (``recall.queue.funnel``, ``.answer_times``) need, per task, its first attempt (when, by whom), its
first answered attempt and its latest attempt's operator. Reading them from the attempts costs a window over a
clinic's whole history of attempts per report; kept here, a report reads the range's tasks alone.

The order is the attempts' (``started_at``, then ``id``), the same as a window over them would use: on a tie the
earlier-logged attempt stays first and the later-logged becomes the latest. Migration 0019 filled them in for
the attempts logged before.
"""

from __future__ import annotations

from datetime import datetime

from recall.queue.tasks import RecallTask


def note_attempt(task: RecallTask, staff_id: int, started_at: datetime, answered: bool) -> None:
    """Fold one attempt, logged after every attempt already folded in, into the task's facts."""
    if task.first_attempt_at is None or started_at < task.first_attempt_at:
        task.first_attempt_at, task.first_attempt_by_id = started_at, staff_id
    if answered and (task.first_contact_at is None or started_at < task.first_contact_at):
        task.first_contact_at = started_at
    if task.last_attempt_at is None or started_at >= task.last_attempt_at:
        task.last_attempt_at, task.last_attempt_by_id = started_at, staff_id
