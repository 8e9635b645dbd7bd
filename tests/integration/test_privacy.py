"""A patient's privacy rights: everything recall holds exported, the patient erased from everywhere it lives
with the bookings and the ledger kept, and texts purged after the clinic's retention."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.ehr import EhrResourceId
from recall.clinic.patients import Patient
from recall.common.db import Base
from recall.common.errors import Conflict, Forbidden, NotFound
from recall.credit.ledger import CreditEntry
from recall.events.endpoints import create_endpoint
from recall.events.types import EventType
from recall.privacy.erasure import ERASED_NAME, erase_patient
from recall.privacy.export import export_patient
from recall.privacy.retention import purge
from recall.queue.attempts import AttemptInput, Outcome, log_attempt
from recall.queue.claims import claim_next
from recall.queue.tasks import RecallTask, TaskReason, TaskStatus
from recall.reminders.inbound.receipts import WebhookReceipt
from recall.reminders.patient_edits import update_patient
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking, BookingStatus
from recall.visits.booking_outcomes import mark_attended
from tests.factories import make_booking, make_patient, make_task

NAME = "Zofia Prywatna-Kowalczyk"
PHONE = "+48 698 111 222"
DIGITS = "698111222"
REF = "MRN-PRIV-7731"
SMS_TEXT = "Mam ból gardła, proszę o telefon po 16"
DESK_NOTE = "prefers afternoons, hearing aid"
CALL_NOTE = "husband answered, call back"


def _ledger(database) -> list[tuple]:
    with database.reader() as s:
        return s.execute(
            sa.select(CreditEntry.staff_id, CreditEntry.kind, sa.func.sum(CreditEntry.amount_cents), sa.func.count())
            .group_by(CreditEntry.staff_id, CreditEntry.kind)
            .order_by(CreditEntry.staff_id, CreditEntry.kind)
        ).all()


def _everything_stored(database) -> str:
    """Every text value of every row of every table, as one string."""
    parts = []
    with database.reader() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(sa.select(table)):
                parts.extend(str(v) for v in row if isinstance(v, (str, bytes)))
    return "\n".join(parts)


@pytest.fixture
def private(database, clock, world, people):
    """A patient with everything recall can hold about one: identifiers, a booking attended (credit earned) with
    a desk note, a future booking with reminders, an SMS reply kept on a task, an attempt's note, the EHR's id,
    and webhook events about them."""
    a = world.a
    with database.writer() as s:
        data = {"url": "https://crm.example.com/h", "event_types": [t.value for t in EventType]}
        create_endpoint(s, clock, people["manager"], data, None)
    patient = make_patient(database, clock, a.clinic.id, full_name=NAME, phone=PHONE, external_ref=REF,
                           date_of_birth=date(1980, 5, 6))  # fmt: skip
    for opted_out in (True, False):  # announced to the CRM, with the patient's identifier
        with database.writer() as s:
            update_patient(s, clock, people["frontdesk"], patient.id, {"opted_out": opted_out})
    past = make_booking(database, clock, a, patient_id=patient.id, days=1, note=DESK_NOTE)
    future = make_booking(database, clock, a, patient_id=patient.id, days=20)
    clock.set(past.start_at)
    with database.writer() as s:
        mark_attended(s, clock, people["frontdesk"], past.id)
    make_task(database, clock, a.clinic.id, patient.id, reason=TaskReason.PATIENT_REQUEST, request_text=SMS_TEXT)
    with database.writer() as s:
        sheet = claim_next(s, clock, people["operator"])
        task_id = sheet.task.id
    with database.writer() as s:
        log_attempt(s, clock, people["operator"], task_id, AttemptInput(outcome=Outcome.NO_ANSWER, note=CALL_NOTE))
    with database.writer() as s:
        s.add(EhrResourceId(clinic_id=a.clinic.id, resource_type="Patient", fhir_id="pat-77", ref=REF))
        s.add(WebhookReceipt(kind="sms", sid="SM" + "1" * 32, received_at=clock.now()))
        s.commit()
    return patient, past, future


def test_the_export_holds_the_patients_data_texts_and_notes(database, clock, people, private):
    patient, past, future = private
    with database.reader() as s:
        document = export_patient(s, clock, people["manager"], patient.id)
    assert document["patient"]["full_name"] == NAME and document["patient"]["external_ref"] == REF
    assert {b["id"] for b in document["bookings"]} == {past.id, future.id}
    assert [b["note"] for b in document["bookings"] if b["id"] == past.id] == [DESK_NOTE]
    assert SMS_TEXT in {t["request_text"] for t in document["recall_tasks"]}
    assert CALL_NOTE in {a["note"] for a in document["contact_attempts"]}
    assert {r["booking_id"] for r in document["reminders"]} == {past.id, future.id}


def test_an_erased_patient_is_nowhere_in_the_database_and_the_ledger_is_unchanged(database, clock, people, private):
    patient, past, future = private
    stored = _everything_stored(database)
    assert all(secret in stored for secret in (NAME, DIGITS, REF, SMS_TEXT, DESK_NOTE, CALL_NOTE))  # teeth
    ledger = _ledger(database)
    with database.writer() as s:
        result = erase_patient(s, clock, people["manager"], patient.id)
    assert result.texts_cleared >= 3 and result.events_scrubbed >= 1
    stored = _everything_stored(database)
    for secret in (NAME, DIGITS, REF, SMS_TEXT, DESK_NOTE, CALL_NOTE, "1980-05-06"):
        assert secret not in stored, secret
    assert _ledger(database) == ledger
    with database.reader() as s:
        erased = s.get(Patient, patient.id)
        assert erased.full_name == ERASED_NAME and erased.opted_out and erased.erased_at == clock.now()
        assert s.get(Booking, past.id).status is BookingStatus.ATTENDED  # the visit happened; pay stays right
        assert s.get(Booking, future.id).status is BookingStatus.BOOKED
        assert not s.scalars(
            sa.select(Reminder).where(Reminder.patient_id == patient.id, Reminder.status == ReminderStatus.PLANNED)
        ).all()
        assert not s.scalars(
            sa.select(RecallTask).where(RecallTask.patient_id == patient.id, RecallTask.status == TaskStatus.OPEN)
        ).all()


def test_an_erasure_is_the_managers_once_and_the_erased_patient_cannot_be_filled_in_again(
    database, clock, world, people, private
):
    patient, _past, _future = private
    with database.writer() as s, pytest.raises(Forbidden):
        erase_patient(s, clock, people["operator"], patient.id)
    other_manager = type(people["manager"])(world.b.staff["manager"].id, world.b.clinic.id, people["manager"].role)
    with database.writer() as s, pytest.raises(NotFound):
        erase_patient(s, clock, other_manager, patient.id)
    with database.writer() as s:
        erase_patient(s, clock, people["manager"], patient.id)
    with database.writer() as s, pytest.raises(Conflict):
        erase_patient(s, clock, people["manager"], patient.id)
    with database.writer() as s, pytest.raises(Conflict):
        update_patient(s, clock, people["frontdesk"], patient.id, {"full_name": NAME})


def test_texts_and_receipts_older_than_the_clinics_retention_are_purged(database, clock, world):
    a = world.a
    old = make_task(database, clock, a.clinic.id, a.patients[0].id, reason=TaskReason.PATIENT_REQUEST,
                    request_text="old text", now=clock.now() - timedelta(days=40))  # fmt: skip
    new = make_task(database, clock, a.clinic.id, a.patients[1].id, reason=TaskReason.PATIENT_REQUEST,
                    request_text="new text")  # fmt: skip
    with database.writer() as s:
        s.get(type(a.clinic), a.clinic.id).text_retention_days = 30
        s.add(WebhookReceipt(kind="sms", sid="SM" + "2" * 32, received_at=clock.now() - timedelta(days=31)))
        s.add(WebhookReceipt(kind="sms", sid="SM" + "3" * 32, received_at=clock.now() - timedelta(days=3)))
        s.commit()
    with database.writer() as s:
        purged = purge(s, clock.now())
        s.commit()
    assert (purged.texts, purged.receipts) == (1, 1)
    with database.reader() as s:
        assert s.get(RecallTask, old.id).request_text is None and s.get(RecallTask, old.id).status is TaskStatus.OPEN
        assert s.get(RecallTask, new.id).request_text == "new text"
        assert s.scalars(sa.select(WebhookReceipt.sid)).all() == ["SM" + "3" * 32]
