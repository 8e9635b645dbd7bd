"""A surge changes reminder work already planned: routine human calls go out as automated calls.

The surge plan promises that when the clinic's thresholds are crossed, routine reminders move from human calls to
automated channels. A call planned during the surge is planned automated; one planned before it began is moved
when it falls due (the hand-over, which every human call passes through). Driven through the real Dispatcher and
the Twilio SDK against the local stand-in; each moved reminder says why in GET /reminders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from integrations.twilio.client import TwilioGateway
from recall.clinic.clinics import Clinic
from recall.common.clock import FixedClock
from recall.queue.tasks import CloseReason, RecallTask, TaskReason, TaskStatus
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.planning import Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.bookings import move_booking
from tests import twilio_callbacks
from tests.factories import api_as, make_booking, make_task
from tests.integration.inbound_scene import make_reminder, new_sid

UTC = UTC
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 13:00 in Stockholm
POLICY = {
    "steps": [
        {"offset_minutes": 48 * 60, "channel": "operator_call"},  # routine, the default: Tuesday 13:00
        {"offset_minutes": 26 * 60, "channel": "operator_call", "routine": False},  # Wednesday 11:00
        {"offset_minutes": 24 * 60, "channel": "frontdesk_call", "fallback": "sms"},  # routine: Wednesday 13:00
    ]
}


def drain(database, at: datetime, gateway: TwilioGateway) -> dict[str, int]:
    settings = DispatchSettings(
        worker_id="w1", callback_base="https://clinic.example.com", concurrency=2, default_from="+46700000000"
    )
    return Dispatcher(database, FixedClock(at), gateway, gateway, settings).drain().outcomes


def start_surge(database, clock, world) -> list[int]:
    """Two tasks due with a backlog threshold of two: the clinic is in a surge."""
    with database.writer() as s:
        s.execute(sa.update(Clinic).where(Clinic.id == world.a.clinic.id).values(surge_backlog=2))
        s.commit()
    return [make_task(database, clock, world.a.clinic.id, p.id).id for p in world.a.patients]


def end_surge(database, clock, tasks: list[int]) -> None:
    """The backlog was worked: the tasks are closed, below the threshold again."""
    with database.writer() as s:
        s.execute(
            sa.update(RecallTask)
            .where(RecallTask.id.in_(tasks))
            .values(status=TaskStatus.CLOSED, close_reason=CloseReason.DECLINED, closed_at=clock.now())
        )
        s.commit()


def plan_of(database, booking: int) -> list[tuple[Via, Via | None, str | None, ReminderStatus]]:
    with database.reader() as s:
        rows = s.scalars(
            sa.select(Reminder).where(Reminder.booking_id == booking).order_by(Reminder.send_at, Reminder.id)
        ).all()
        return [(r.channel, r.planned_channel, r.moved_reason, r.status) for r in rows]


def service_calls(database, booking: int) -> list[RecallTask]:
    with database.reader() as s:
        return list(
            s.scalars(
                sa.select(RecallTask).where(
                    RecallTask.origin_booking_id == booking, RecallTask.reason == TaskReason.REMINDER_CALL
                )
            )
        )


def test_routine_human_calls_planned_before_a_surge_go_out_as_automated_calls_when_they_fall_due_and_say_why(
    client, database, clock, world, people, standin, gateway
):
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], POLICY)
    booking = make_booking(database, clock, world.a, start_at=VISIT, patient={"phone": "+46701000001"}).id
    planned = ReminderStatus.PLANNED
    assert plan_of(database, booking) == [
        (Via.OPERATOR_CALL, None, None, planned),
        (Via.OPERATOR_CALL, None, None, planned),
        (Via.FRONTDESK_CALL, None, None, planned),
    ]
    start_surge(database, clock, world)

    # Tuesday 13:00: the routine operator call is due. No service task: an automated call goes out instead.
    assert drain(database, VISIT - timedelta(hours=48), gateway) == {"automated": 1, "sent": 1}
    assert [c["to"] for c in standin.calls()] == ["+46701000001"]
    assert service_calls(database, booking) == []
    # Wednesday 11:00: the step the policy does not call routine is still a person's call.
    assert drain(database, VISIT - timedelta(hours=26), gateway) == {"handed_over": 1}
    assert len(service_calls(database, booking)) == 1
    # Wednesday 13:00: the routine front-desk call goes out automated too and never reaches the desk's list.
    assert drain(database, VISIT - timedelta(hours=24), gateway) == {"automated": 1, "sent": 1}
    assert len(standin.calls()) == 2
    desk = api_as(client, world.a, "frontdesk")
    assert desk.get("/reminder-calls", query_string={"state": "all"}).json["items"] == []

    shown = desk.get("/reminders", query_string={"booking_id": booking}).json["items"]
    assert [(r["channel"], r["planned_channel"], r["moved_reason"], r["status"], r["fallback"]) for r in shown] == [
        ("voice", "operator_call", "surge", "sent", "none"),
        ("operator_call", None, None, "handed_over", "none"),
        ("voice", "frontdesk_call", "surge", "sent", "sms"),
    ]


def test_during_a_surge_new_plans_are_automated_and_once_it_ends_new_plans_are_normal_again(
    database, clock, world, people
):
    with database.writer() as s:
        replace_policy(s, clock, people["manager"], POLICY)
    tasks = start_surge(database, clock, world)
    during = make_booking(database, clock, world.a, start_at=VISIT, patient={"phone": "+46701000002"}).id
    planned = ReminderStatus.PLANNED
    assert plan_of(database, during) == [
        (Via.VOICE, Via.OPERATOR_CALL, "surge", planned),
        (Via.OPERATOR_CALL, None, None, planned),
        (Via.VOICE, Via.FRONTDESK_CALL, "surge", planned),
    ]

    end_surge(database, clock, tasks)
    after = make_booking(database, clock, world.a, start_at=VISIT, patient={"phone": "+46701000003"}).id
    normal = [
        (Via.OPERATOR_CALL, None, None, planned),
        (Via.OPERATOR_CALL, None, None, planned),
        (Via.FRONTDESK_CALL, None, None, planned),
    ]
    assert plan_of(database, after) == normal
    with database.writer() as s:  # re-planning the booking made during the surge: normal again as well
        move_booking(s, clock, people["operator"], during, start_at=VISIT + timedelta(days=1))
    assert [row for row in plan_of(database, during) if row[3] is planned] == normal


def test_in_a_surge_a_failed_calls_human_fallback_becomes_an_sms_not_the_same_call_again(database, clock, world):
    booking = make_booking(database, clock, world.a, days=3)
    call = make_reminder(
        database, clock, booking, channel=Via.VOICE, sid=new_sid("CA"), fallback=Fallback.OPERATOR_CALL
    )
    with database.writer() as s:  # the default policy's steps are routine; this one stands for them
        s.execute(sa.update(Reminder).where(Reminder.id == call.id).values(offset_minutes=120))
        s.execute(sa.delete(Reminder).where(Reminder.booking_id == booking.id, Reminder.id != call.id))
        s.commit()
    start_surge(database, clock, world)
    with database.writer() as s:
        assert (
            twilio_callbacks.call_status(s, clock, reminder_id=call.id, sid=call.provider_sid, status="no-answer")
            == "updated"
        )
    assert plan_of(database, booking.id) == [
        (Via.VOICE, None, None, ReminderStatus.FAILED),
        (Via.SMS, Via.OPERATOR_CALL, "surge", ReminderStatus.PLANNED),
    ]
    assert service_calls(database, booking.id) == []
