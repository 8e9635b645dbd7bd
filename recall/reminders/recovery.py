"""Recovering lost sends: a reminder whose worker died or stalled mid-send, asked after at Twilio.

A reaped send (``unknown`` / ``worker_lost``) may or may not have reached Twilio, and Twilio offers no
idempotency key, so it is never simply sent again. Once its lease has lapsed by ``after`` (longer than a
request takes, so a request a stalled worker wrote just before its lease ran out has been answered and is
listed), a worker asks Twilio for the messages or calls to that number from our sender since the claim:

* one that no other reminder holds and, for an SMS, says the same text is this reminder's: ``sent`` with
  Twilio's SID (``recovery: found``), or ``failed`` with its fallback if Twilio says it failed there;
* none, and the step still makes sense: back to the queue, to be sent once through every check (``resent``);
* otherwise it stays ``unknown`` (``missed``).

Each reminder is recovered once: ``recovery`` is taken (``checking``) under a lease of its own before Twilio
is asked, and a look-up that fails leaves it to be asked again when that lease lapses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from recall.common.clock import Clock
from recall.common.db import Database
from recall.reminders import outgoing
from recall.reminders.outcomes import RecoveryVerdict as Verdict
from recall.reminders.outcomes import SendIncident
from recall.reminders.planning import Channel
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.reminders.sending import Found, SendError, SendLookup, SendResult
from recall.visits.booking import ACTIVE as ACTIVE_BOOKING

_log = logging.getLogger(__name__)

#: The request a reminder's send makes (``outgoing.build`` under the reminder's policy version).
BuildRequest = Callable[[sa.Connection, outgoing.Outgoing, int, int], outgoing.Request]
#: Records that Twilio has the send, failed (a final status on its record): the reminder's fallback runs.
RecordFailure = Callable[[int, SendResult], object]


class Recovery:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        lookup: SendLookup,
        *,
        worker_id: str,
        lease: timedelta,
        after: timedelta,
        batch: int,
        build: BuildRequest,
        record_failure: RecordFailure,
    ) -> None:
        self.db, self.clock, self.lookup = database, clock, lookup
        self.worker_id, self.lease, self.after, self.batch = worker_id, lease, after, batch
        self.build, self.record_failure = build, record_failure

    def run(self) -> dict[str, int]:
        """Lost sends whose lease lapsed ``after`` ago, at most ``batch`` per pass; returns the verdicts."""
        done: dict[str, int] = {}  # by the verdict's value: it is logged
        for reminder_id in self._take():
            try:
                verdict = self._recover_one(reminder_id)
            except SendError as error:  # Twilio did not answer: asked again once this check's lease lapses
                _log.warning("could not look reminder %s up at Twilio: %s", reminder_id, error.reason.value)
                verdict = Verdict.LOOKUP_FAILED
            except Exception:
                _log.exception("recovering reminder %s failed unexpectedly", reminder_id)
                verdict = Verdict.ERROR
            done[verdict.value] = done.get(verdict.value, 0) + 1
        if done:
            _log.info("lost sends recovered: %s", done)
        return done

    def _take(self) -> list[int]:
        now = self.clock.now()
        waiting = sa.and_(
            Reminder.status == ReminderStatus.UNKNOWN,
            Reminder.outcome == SendIncident.WORKER_LOST.value,
            sa.or_(Reminder.recovery.is_(None), Reminder.recovery == Verdict.CHECKING.value),
            Reminder.lease_expires_at < now - self.after,
        )
        with self.db.connection(write=True) as conn:
            ids = list(
                conn.scalars(
                    sa.select(Reminder.id).where(waiting).order_by(Reminder.lease_expires_at).limit(self.batch)
                )
            )
            taken = (
                list(
                    conn.scalars(
                        sa.update(Reminder)
                        .where(Reminder.id.in_(ids), waiting)
                        .values(
                            recovery=Verdict.CHECKING.value,
                            claimed_by=self.worker_id,
                            lease_expires_at=now + self.lease,
                            updated_at=now,
                        )
                        .returning(Reminder.id)
                    )
                )
                if ids
                else []
            )
            conn.commit()
        return sorted(taken)

    def _recover_one(self, reminder_id: int) -> Verdict:
        with self.db.connection(write=False) as conn:
            row = conn.execute(
                sa.select(
                    Reminder.clinic_id,
                    Reminder.policy_version,
                    Reminder.claimed_at,
                    Reminder.send_at,
                    Reminder.offset_minutes,
                ).where(Reminder.id == reminder_id)
            ).one()
            out = outgoing.load(conn, reminder_id)
            assert out is not None
            sent_by_twilio = out.channel in (Channel.SMS, Channel.VOICE)  # a hand-over never reached Twilio
            request = self.build(conn, out, row.clinic_id, row.policy_version) if sent_by_twilio else None
        since = row.claimed_at or (out.lease_expires_at or self.clock.now()) - 2 * self.lease
        found: list[Found] = []
        if request is not None and out.channel is Channel.VOICE:
            found = self.lookup.calls_since(to=request.to, sender=request.sender, since=since)
        elif request is not None:
            found = self.lookup.messages_since(to=request.to, sender=request.sender, since=since)
        now = self.clock.now()
        ours = sa.and_(
            Reminder.id == reminder_id,
            Reminder.status == ReminderStatus.UNKNOWN,
            Reminder.recovery == Verdict.CHECKING.value,
            Reminder.claimed_by == self.worker_id,
        )
        with self.db.connection(write=True) as conn:
            match = _match(conn, found, request)
            if match is not None:
                changes: dict[str, object] = dict(
                    status=ReminderStatus.SENT,
                    provider_sid=match.sid,
                    provider_status=match.status,
                    sent_at=now,
                    outcome=None,
                    recovery=Verdict.FOUND.value,
                    lease_expires_at=None,
                )
                verdict = Verdict.FOUND
            elif still_useful(out, row.send_at, row.offset_minutes, now):
                changes = dict(
                    status=ReminderStatus.PLANNED,
                    due_at=now,
                    claimed_by=None,
                    lease_expires_at=None,
                    recovery=Verdict.RESENT.value,
                )
                verdict = Verdict.RESENT
            else:
                changes, verdict = dict(recovery=Verdict.MISSED.value, lease_expires_at=None), Verdict.MISSED
            try:
                with conn.begin_nested():
                    conn.execute(sa.update(Reminder).where(ours).values(updated_at=now, **changes))
            except sa.exc.IntegrityError:  # a re-plan made a new reminder of this step meanwhile: that one goes
                conn.execute(
                    sa.update(Reminder)
                    .where(ours)
                    .values(recovery=Verdict.MISSED.value, lease_expires_at=None, updated_at=now)
                )
                verdict = Verdict.MISSED
            conn.commit()
        if verdict is Verdict.FOUND and match is not None and match.event.failed:
            # it went out and failed there: as a status callback saying so would, it ends failed with its fallback
            failure = SendResult(sid=match.sid, status=match.status, event=match.event, outcome=match.status)
            self.record_failure(reminder_id, failure)
        return verdict


def _match(conn: sa.Connection, found: list[Found], request: outgoing.Request | None) -> Found | None:
    """The message or call Twilio lists that is this reminder's: not one another reminder holds, and for an
    SMS the same text (the patient's other reminders say another date or come from another step)."""
    if not found or request is None:
        return None
    known = set(conn.scalars(sa.select(Reminder.provider_sid).where(Reminder.provider_sid.in_([f.sid for f in found]))))
    mine = [
        f
        for f in found
        if f.sid not in known and (request.channel is Channel.VOICE or f.body is None or f.body == request.body)
    ]
    return min(mine, key=lambda f: (f.created_at is None, f.created_at)) if mine else None


def still_useful(out: outgoing.Outgoing, send_at: datetime, offset_minutes: int, now: datetime) -> bool:
    """A reminder sent late still makes sense before the visit and within half of its step's lead time
    (a 24 h reminder up to 12 h late, a 2 h call up to an hour late); the send's own checks still apply."""
    return (
        now < out.start_at
        and now <= send_at + timedelta(minutes=offset_minutes) / 2
        and out.booking_status.value in ACTIVE_BOOKING
    )
