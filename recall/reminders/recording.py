"""A success written down: the provider took a reminder's request, and one Core UPDATE records it.

A status callback that was faster than the sender is kept, and a SID that collides with one already recorded
does not take the other successes of its batch down with it.

On SQLite, where every write takes the database's one write lock, the successes of a drain are written in
batches by one ``SentLog`` thread (an executemany a few times a second) instead of a transaction per send.
A success waits there for a few milliseconds; a worker killed meanwhile leaves those reminders ``sending``,
and the reaper ends them ``unknown`` like any send whose worker died: never re-sent.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from queue import Empty, SimpleQueue

import sqlalchemy as sa

from recall.common.clock import Clock
from recall.common.db import Database
from recall.events import announce
from recall.events.tables import WebhookEndpoint
from recall.events.types import EventType
from recall.reminders.delivery import Delivery
from recall.reminders.outcomes import SendIncident
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.reminders.sending import SendResult

_log = logging.getLogger("recall.reminders.outgoing")  # where these lines were always logged

# Twilio took it. A status callback that was faster than the sender (delivered, failed) is kept; anything
# else the row says now (also ``unknown``, if a reaper ran meanwhile) yields to the fact. An error code left by
# an earlier try (a 429 before the retry) goes: this try's answer is what the row says.
_SENT = (
    sa.update(Reminder)
    .where(
        Reminder.id == sa.bindparam("reminder_id"),  # no IN list: it is written with executemany
        Reminder.status != ReminderStatus.DELIVERED,
        Reminder.status != ReminderStatus.FAILED,
    )
    .values(
        status=sa.bindparam("status"),
        provider_sid=sa.bindparam("sid"),
        provider_status=sa.bindparam("provider_status"),
        sent_at=sa.bindparam("now"),
        updated_at=sa.bindparam("now"),
        lease_expires_at=None,
        outcome=sa.bindparam("outcome"),
        error_code=sa.bindparam("error_code"),
    )
)


def sent(reminder_id: int, result: SendResult, now: datetime) -> dict[str, object]:
    """The parameters of one success, for ``record_sent``."""
    # A create answered with a status that is already final: a failure is not a success (the dispatcher ends it
    # failed with its fallback, ``settling.failed_on_create``); a delivery is recorded as one.
    status = ReminderStatus.DELIVERED if result.event is Delivery.DELIVERED else ReminderStatus.SENT
    return {
        "reminder_id": reminder_id,
        "sid": result.sid,
        "provider_status": result.status,
        "now": now,
        "status": status,
        "outcome": None,
        "error_code": result.error_code,
    }


def record_sent(conn: sa.Connection, successes: list[dict[str, object]]) -> None:
    """Write successes in the connection's transaction (the caller commits). A SID that collides with one already
    recorded must not take the others down with it (on SQLite a batch is one statement, and on PostgreSQL the
    error ends the transaction): that transaction is rolled back (it holds nothing else: the send is made), and
    the rows are written again one at a time, each in a savepoint, a colliding one without its SID."""
    try:
        conn.execute(_SENT, successes)
        _announce(conn, successes)
        return
    except sa.exc.IntegrityError:
        if conn.dialect.name == "postgresql":  # SQLite undid only the failing row, and the transaction goes on
            conn.rollback()
    for success in successes:
        try:
            with conn.begin_nested():
                conn.execute(_SENT, success)
        except sa.exc.IntegrityError:
            _log.error(
                "reminder %s: Twilio answered with a SID another reminder holds; recorded without it",
                success["reminder_id"],
            )
            # recorded without the SID, so the successes written with it are kept; the clash is told (no patient data)
            conn.execute(_SENT, {**success, "sid": None, "outcome": SendIncident.DUPLICATE_SID.value})
    _announce(conn, successes)


_WRITTEN = sa.select(
    Reminder.id,
    Reminder.clinic_id,
    Reminder.booking_id,
    Reminder.patient_id,
    Reminder.channel,
    Reminder.status,
    Reminder.step_index,
    Reminder.outcome,
    Reminder.error_code,
    Reminder.sent_at,
).where(Reminder.id.in_(sa.bindparam("ids", expanding=True)))
_LISTENING = (
    sa.select(WebhookEndpoint.clinic_id)
    .where(WebhookEndpoint.clinic_id.in_(sa.bindparam("clinics", expanding=True)), WebhookEndpoint.enabled.is_(True))
    .distinct()
)


def _announce(conn: sa.Connection, successes: list[dict[str, object]]) -> None:
    """``reminder.sent`` for each reminder this batch wrote (a status callback that came first kept its own), in
    the same transaction; one read for the batch, and nothing more for clinics with no endpoint."""
    at = {success["reminder_id"]: success["now"] for success in successes}
    rows = conn.execute(_WRITTEN, {"ids": list(at)}).all()
    listening = set(conn.scalars(_LISTENING, {"clinics": sorted({row.clinic_id for row in rows})}))
    for row in rows:
        if row.clinic_id in listening and row.sent_at == at[row.id] and row.status in _WRITES:
            announce.reminder(conn, EventType.REMINDER_SENT, row, row.sent_at)


_WRITES = (ReminderStatus.SENT, ReminderStatus.DELIVERED)


class SentLog:
    """One thread that writes the successes handed to it in batches; ``close`` writes what is left."""

    MAX_BATCH = 500

    def __init__(self, database: Database, clock: Clock) -> None:
        self.db, self.clock = database, clock
        self._queue: SimpleQueue[dict[str, object] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="recall-sent-log", daemon=True)
        self._thread.start()

    def add(self, reminder_id: int, result: SendResult) -> None:
        self._queue.put(sent(reminder_id, result, self.clock.now()))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        done = False
        while not done:
            item = self._queue.get()
            batch = [] if item is None else [item]
            done = item is None
            while not done and len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except Empty:
                    break
                if item is None:
                    done = True
                else:
                    batch.append(item)
            if batch:
                self._write(batch)

    def _write(self, batch: list[dict[str, object]]) -> None:
        try:
            with self.db.connection(write=True) as conn:
                record_sent(conn, batch)
                conn.commit()
        except Exception:
            _log.exception("could not record %d sent reminders; their leases will lapse", len(batch))
