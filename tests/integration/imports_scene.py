"""What the import tests share: applying records as the clinic's manager or its EHR, and reading back rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.db import Base, Database
from recall.credit.ledger import CreditEntry
from recall.imports.apply import apply_record
from recall.imports.batches import ImportReport, import_records
from recall.imports.records import EntryOutcome, Record
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking


def apply(database: Database, clock: Clock, actor: Actor, record: Record) -> EntryOutcome:
    with database.writer() as s:
        outcome = apply_record(s, clock, actor, record)
        s.commit()
        return outcome


def run(database: Database, clock: Clock, actor: Actor, records: list[Record], **kw: Any) -> ImportReport:
    return import_records(database, clock, actor, records, **kw)


def count(database: Database, model: type[Any]) -> int:
    with database.reader() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def snapshot(database: Database) -> dict[str, Any]:
    """Every table's row count, and each row's update stamp where it has one: what 'nothing changed' means."""
    out: dict[str, Any] = {}
    with database.reader() as s:
        for table in Base.metadata.sorted_tables:
            out[table.name] = s.scalar(sa.select(sa.func.count()).select_from(table))
            if "updated_at" in table.c:
                stamps = s.scalars(sa.select(table.c.updated_at).order_by(*table.primary_key.columns))
                out[f"{table.name}.updated_at"] = list(stamps)
    return out


def booking(database: Database, ref: str, clinic_id: int) -> Booking:
    with database.reader() as s:
        found = s.scalar(sa.select(Booking).where(Booking.clinic_id == clinic_id, Booking.external_ref == ref))
        assert found is not None
        return found


def waiting_reminders(database: Database, booking_id: int) -> int:
    with database.reader() as s:
        return (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(Reminder)
                .where(Reminder.booking_id == booking_id, Reminder.status == ReminderStatus.PLANNED)
            )
            or 0
        )


def credit(database: Database, booking_id: int) -> list[tuple[str, int, str]]:
    with database.reader() as s:
        rows = s.scalars(sa.select(CreditEntry).where(CreditEntry.booking_id == booking_id).order_by(CreditEntry.id))
        return [(e.kind.value, e.staff_id, e.role.value) for e in rows]
