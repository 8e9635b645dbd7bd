"""The payroll adds up the ledger's earned entries per staff member, day and kind; the worklists read the queue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.clinics import get_clinic
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.credit.ledger import CreditEntry, CreditKind
from recall.credit.payroll import PayKind, month_of, payroll
from recall.queue.tasks import TaskStatus
from recall.queue.worklist import queue_rows
from recall.visits.booking import Channel, Source
from recall.visits.booking_outcomes import cancel_booking, mark_attended, mark_no_show
from tests.factories import make_booking, make_patient, make_task


def _attend(database, clock, actor, booking):
    with database.writer() as s:
        mark_attended(s, clock, actor, booking.id)


def test_payroll_pays_earned_credit_by_day_and_kind_and_its_totals_equal_the_ledger(database, clock, world, people):
    a = world.a
    p3 = make_patient(database, clock, a.clinic.id, full_name="Анна Смирнова", phone="+7 912 345 67 89")
    p4 = make_patient(database, clock, a.clinic.id, full_name="王小明", phone="+86 139 1234 5678")
    desk = make_booking(database, clock, a, by=people["frontdesk"], channel=Channel.IN_PERSON, days=1)
    task = make_task(database, clock, a.clinic.id, a.patients[1].id)
    won = make_booking(database, clock, a, patient_id=a.patients[1].id, source=Source.RECALL_TASK,
                       recall_task_id=task.id, days=1, hour=11)  # fmt: skip
    remote = make_booking(database, clock, a, patient_id=p3.id, days=2)
    missed = make_booking(database, clock, a, patient_id=p4.id, days=2, hour=12)
    make_booking(database, clock, a, patient_id=p4.id, days=20)  # stays pending: made, never realized
    cancelled = make_booking(database, clock, a, patient_id=p3.id, days=20, hour=13)
    with database.writer() as s:
        cancel_booking(s, clock, people["operator"], cancelled.id)
    clock.set(desk.start_at)
    _attend(database, clock, people["frontdesk"], desk)
    clock.set(won.start_at)
    _attend(database, clock, people["frontdesk"], won)
    clock.set(remote.start_at)
    _attend(database, clock, people["frontdesk"], remote)
    clock.set(missed.start_at + timedelta(hours=1))
    with database.writer() as s:
        mark_no_show(s, clock, people["frontdesk"], missed.id)

    with database.reader() as s:
        result = payroll(s, a.clinic.id, date(2026, 3, 1), date(2026, 3, 31))
        ledger_earned = s.scalar(
            sa.select(sa.func.sum(CreditEntry.amount_cents)).where(
                CreditEntry.clinic_id == a.clinic.id, CreditEntry.kind == CreditKind.EARNED
            )
        )
    by_id = {member.staff_id: member for member in result.staff}
    operator, frontdesk = by_id[a.staff["operator"].id], by_id[a.staff["frontdesk"].id]
    assert [(line.day, line.kind, line.bookings, line.cents) for line in frontdesk.lines] == [
        (date(2026, 3, 3), PayKind.DESK, 1, 1000)
    ]
    assert [(line.day, line.kind, line.bookings, line.cents) for line in operator.lines] == [
        (date(2026, 3, 3), PayKind.RECALL, 1, 1500),  # the win-back at the 1.5 multiplier
        (date(2026, 3, 4), PayKind.REMOTE, 1, 1000),
    ]  # the no-show, the cancellation and the booking still pending are not pay
    assert operator.cents_of(PayKind.RECALL) == 1500 and operator.cents == 2500
    # Everyone who earns is on it, with nothing too; the manager is not.
    assert by_id[a.staff["operator2"].id].lines == [] and a.staff["manager"].id not in by_id
    assert result.cents == ledger_earned == 3500 and result.bookings == 3


def test_payroll_days_are_the_clinics_and_a_month_boundary_splits_them(database, clock, world, people):
    a = world.a
    # 22:30 UTC on 31 March is already 1 April in Stockholm: April's pay.
    booking = make_booking(database, clock, a, by=people["frontdesk"], channel=Channel.IN_PERSON, days=29, hour=22)
    clock.set(booking.start_at + timedelta(minutes=30))
    _attend(database, clock, people["frontdesk"], booking)
    with database.reader() as s:
        march = payroll(s, a.clinic.id, *month_of("2026-03"))
        april = payroll(s, a.clinic.id, *month_of("2026-04"))
    assert march.cents == 0
    assert [(line.day, line.cents) for m in april.staff for line in m.lines] == [(date(2026, 4, 1), 1000)]


def test_payroll_keeps_paying_someone_who_has_since_become_a_manager(database, clock, world, people):
    a = world.a
    booking = make_booking(database, clock, a, by=people["operator2"], days=1)
    clock.set(booking.start_at)
    _attend(database, clock, people["frontdesk"], booking)
    with database.writer() as s:
        s.get(type(a.staff["operator2"]), a.staff["operator2"].id).role = Role.MANAGER
    with database.reader() as s:
        result = payroll(s, a.clinic.id, *month_of("2026-03"))
    assert {m.staff_id: m.cents for m in result.staff}[a.staff["operator2"].id] == 1000


@pytest.mark.parametrize("text", ["2026-13", "2026", "11-2026x", "2026-11-05", "", "abcd-ef"])
def test_a_month_that_is_not_yyyy_mm_names_the_field(text):
    with pytest.raises(ValidationError) as caught:
        month_of(text)
    assert "month" in caught.value.fields


def test_month_of_gives_the_first_and_last_day():
    assert month_of("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_of("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))


def test_the_queue_lists_waiting_tasks_in_the_order_work_is_given_and_the_overdue_list_the_most_overdue_first(
    database, clock, world, people
):
    a = world.a
    now = clock.now()
    old = make_task(database, clock, a.clinic.id, a.patients[0].id, due_at=now - timedelta(days=10, hours=2),
                    service_id=a.services[0].id, leased_to=a.staff["operator"].id)  # fmt: skip
    recent = make_task(database, clock, a.clinic.id, a.patients[1].id, due_at=now - timedelta(hours=5),
                       reserved_for_id=a.staff["operator2"].id, reserved_until=now + timedelta(hours=1))  # fmt: skip
    p3 = make_patient(database, clock, a.clinic.id, full_name="Åsa Lindqvist")
    later = make_task(database, clock, a.clinic.id, p3.id, due_at=now + timedelta(days=3))
    other = make_task(database, clock, world.b.clinic.id, world.b.patients[0].id, due_at=now - timedelta(days=30))
    with database.reader() as s:
        clinic = get_clinic(s, a.clinic.id)
        queue = list(queue_rows(s, clinic, now))
        overdue = list(queue_rows(s, clinic, now, overdue_only=True))
    assert [r.task_id for r in queue] == [old.id, recent.id, later.id]
    assert other.id not in {r.task_id for r in queue}
    assert [r.task_id for r in overdue] == [old.id, recent.id]
    first = overdue[0]
    assert first.days_overdue == 10 and first.held_by == "operator" and first.service == a.services[0].name
    assert first.patient_name == a.patients[0].full_name and first.phone == a.patients[0].phone_e164
    assert first.due_local.utcoffset() == timedelta(hours=1)  # Stockholm in March, before DST
    assert overdue[1].days_overdue == 0 and overdue[1].callback_for == "operator2" and overdue[1].held_by is None
    assert queue[2].days_overdue is None and queue[2].status == TaskStatus.OPEN.value
