"""The event vocabulary: every type an endpoint may subscribe to, and what an event is about.

A payload carries no more patient data than the event needs: ids, our ``external_ref`` where one exists,
statuses, times, channels and amounts; never a name, a phone number or a message's text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventType(str, enum.Enum):
    BOOKING_CREATED = "booking.created"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_MOVED = "booking.moved"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_ATTENDED = "booking.attended"
    BOOKING_NO_SHOW = "booking.no_show"
    RECALL_TASK_OPENED = "recall_task.opened"
    RECALL_TASK_CLOSED = "recall_task.closed"
    ATTEMPT_LOGGED = "attempt.logged"
    REMINDER_SENT = "reminder.sent"
    REMINDER_DELIVERED = "reminder.delivered"
    REMINDER_FAILED = "reminder.failed"
    PATIENT_OPTED_OUT = "patient.opted_out"
    PATIENT_OPTED_IN = "patient.opted_in"
    CREDIT_PENDING = "credit.pending"
    CREDIT_EARNED = "credit.earned"
    CREDIT_VOID = "credit.void"


DESCRIPTIONS: dict[EventType, str] = {
    EventType.BOOKING_CREATED: "a booking was made (at the desk, by an operator, from a recall task)",
    EventType.BOOKING_CONFIRMED: "the patient confirmed a booking",
    EventType.BOOKING_MOVED: "a booking moved to another time or provider",
    EventType.BOOKING_CANCELLED: "a booking was cancelled",
    EventType.BOOKING_ATTENDED: "the patient came",
    EventType.BOOKING_NO_SHOW: "the patient did not come",
    EventType.RECALL_TASK_OPENED: "a recall task entered the operators' queue",
    EventType.RECALL_TASK_CLOSED: "a recall task ended (won, or closed with a reason)",
    EventType.ATTEMPT_LOGGED: "an operator logged a contact attempt with its outcome",
    EventType.REMINDER_SENT: "the provider took a reminder (SMS or call)",
    EventType.REMINDER_DELIVERED: "a reminder reached the patient",
    EventType.REMINDER_FAILED: "a reminder could not be delivered",
    EventType.PATIENT_OPTED_OUT: "the patient asked not to be contacted",
    EventType.PATIENT_OPTED_IN: "the patient may be contacted again",
    EventType.CREDIT_PENDING: "a booking's credit was promised to the staff member who made it",
    EventType.CREDIT_EARNED: "the credit was earned (the patient came)",
    EventType.CREDIT_VOID: "the credit was voided (cancelled or missed)",
}


class ResourceType(str, enum.Enum):
    BOOKING = "booking"
    RECALL_TASK = "recall_task"
    ATTEMPT = "attempt"
    REMINDER = "reminder"
    PATIENT = "patient"


@dataclass(frozen=True)
class Resource:
    """What an event is about. Events about one resource reach each endpoint in the order they happened."""

    type: ResourceType
    id: int

    @property
    def key(self) -> str:
        return f"{self.type.value}:{self.id}"


def booking(booking_id: int) -> Resource:
    return Resource(ResourceType.BOOKING, booking_id)


def parse_types(values: list[str]) -> list[EventType]:
    """Known types, in the vocabulary's order, without repeats (ValueError names an unknown one)."""
    wanted = {EventType(v) for v in values}
    return [t for t in EventType if t in wanted]
