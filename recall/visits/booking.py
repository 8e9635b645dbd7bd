"""A booking and the words for it: its status, channel and source, which moves are allowed, and its queries.

The vocabulary sits apart from the use cases (``recall.visits.bookings``) so that what the use cases call
(reminders, the recall queue) can read bookings without importing the use cases back.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.patients import Patient, get_patient
from recall.common.actors import Role
from recall.common.db import Base, UTCDateTime, enum_column_type, locking
from recall.common.errors import Conflict, NotFound


class BookingStatus(str, enum.Enum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Channel(str, enum.Enum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"
    VOICE_REPLY = "voice_reply"
    ONLINE = "online"


class Source(str, enum.Enum):
    VISIT_CHECKOUT = "visit_checkout"
    RECALL_TASK = "recall_task"
    REMINDER_REPLY = "reminder_reply"
    NEW_REQUEST = "new_request"


# Which role earns a booking made through each channel; None: nobody's credit.
CHANNEL_ROLE: dict[Channel, Role | None] = {
    Channel.IN_PERSON: Role.FRONTDESK,
    Channel.PHONE: Role.OPERATOR,
    Channel.CHAT: Role.OPERATOR,
    Channel.SMS: Role.OPERATOR,
    Channel.VOICE_REPLY: None,
    Channel.ONLINE: None,
}
ACTIVE = (BookingStatus.BOOKED, BookingStatus.CONFIRMED)
# Allowed moves between statuses; the three outcomes are final.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.BOOKED: frozenset(
        {BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW}
    ),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CANCELLED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW}),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.ATTENDED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}


class Booking(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[BookingStatus] = mapped_column(enum_column_type(BookingStatus, "booking_status"))
    channel: Mapped[Channel] = mapped_column(enum_column_type(Channel, "booking_channel"))
    source: Mapped[Source] = mapped_column(enum_column_type(Source, "booking_source"))
    source_visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    recall_task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recall_tasks.id", use_alter=True))
    # The visit whose recommended follow-up this booking fulfils, if any.
    follow_up_of_visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    credited_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    credited_role: Mapped[Role | None] = mapped_column(enum_column_type(Role, "booking_credited_role"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Held out from automated reminders (recall.reminders.holdout), decided when its reminders were first planned;
    # None: no holdout was on then. Kept, so a later change of the share never re-labels it.
    holdout: Mapped[bool | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the source's identifier (recall.imports)

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_bookings_clinic_external_ref"),
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint("provider_id IS NOT NULL OR service_id IS NOT NULL", name="provider_or_service"),
        sa.Index("ix_bookings_patient_start", "patient_id", "start_at"),
        sa.Index("ix_bookings_clinic_start", "clinic_id", "start_at"),
        sa.Index("ix_bookings_follow_up_of_visit", "follow_up_of_visit_id"),
        sa.Index("ix_bookings_clinic_created", "clinic_id", "created_at"),
    )


def get_booking(session: Session, clinic_id: int, booking_id: int, *, for_update: bool = False) -> Booking:
    stmt = sa.select(Booking).where(Booking.id == booking_id, Booking.clinic_id == clinic_id)
    booking = session.scalar(locking(stmt) if for_update else stmt)
    if booking is None:
        raise NotFound("booking", booking_id)
    return booking


def lock_patient_and_booking(
    session: Session, clinic_id: int, patient_id: int, booking_id: int
) -> tuple[Patient, Booking]:
    """Both locked, in the one order every use case that changes a booking takes: the patient, then the booking
    (then a task or a call), so two use cases touching one patient's bookings and tasks queue instead of
    deadlocking."""
    patient = get_patient(session, clinic_id, patient_id, for_update=True)
    return patient, get_booking(session, clinic_id, booking_id, for_update=True)


def lock_booking(session: Session, clinic_id: int, booking_id: int) -> Booking:
    """The booking, locked in that order: read once unlocked to learn whose it is, then its patient and it."""
    patient_id = get_booking(session, clinic_id, booking_id).patient_id
    return lock_patient_and_booking(session, clinic_id, patient_id, booking_id)[1]


def lock_to_become(session: Session, clinic_id: int, booking_id: int, to: BookingStatus) -> Booking:
    """The booking, locked (its patient first, as everywhere), if it may become ``to``."""
    booking = lock_booking(session, clinic_id, booking_id)
    if to not in TRANSITIONS[booking.status]:
        raise Conflict(f"booking {booking.id} is {booking.status.value}; it cannot become {to.value}", field="status")
    return booking


def is_upcoming(now: datetime) -> sa.ColumnElement[bool]:
    """A booking still to come: booked or confirmed, and not begun."""
    return sa.and_(Booking.status.in_(ACTIVE), Booking.start_at > now)


def upcoming_bookings(now: datetime, patient_id: int | None = None) -> sa.Select[Booking]:
    """The bookings still to come, soonest first: the patient's, or without one every patient's (to narrow)."""
    stmt = sa.select(Booking).where(is_upcoming(now)).order_by(Booking.start_at, Booking.id)
    return stmt if patient_id is None else stmt.where(Booking.patient_id == patient_id)


def list_bookings(
    clinic_id: int,
    *,
    statuses: list[BookingStatus] | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    patient_id: int | None = None,
    provider_id: int | None = None,
    credited_staff_id: int | None = None,
    channel: Channel | None = None,
) -> sa.Select[Booking]:
    stmt = sa.select(Booking).where(Booking.clinic_id == clinic_id).order_by(Booking.start_at, Booking.id)
    if statuses:
        stmt = stmt.where(Booking.status.in_(statuses))
    if start_from is not None:
        stmt = stmt.where(Booking.start_at >= start_from)
    if start_to is not None:
        stmt = stmt.where(Booking.start_at < start_to)
    for column, value in (
        (Booking.patient_id, patient_id),
        (Booking.provider_id, provider_id),
        (Booking.credited_staff_id, credited_staff_id),
        (Booking.channel, channel),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt
