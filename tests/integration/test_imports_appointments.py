"""Appointments from an import become bookings through the booking use cases: reminders and credit follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.staff import Staff
from recall.common.actors import Actor
from recall.imports.records import AppointmentRecord, AppointmentState, PatientRecord, ProviderRecord, Result
from recall.visits.booking import Booking, BookingStatus, Channel
from tests.integration.imports_scene import apply, booking, count, credit, snapshot, waiting_reminders

pytestmark = pytest.mark.db

# Thursday 2026-03-05 13:00 in Stockholm; the clock stands at Monday 08:00 UTC.
VISIT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
S = AppointmentState


@pytest.fixture
def ehr(database, clock, world):
    actor = Actor.system(world.a.clinic.id)
    apply(
        database, clock, actor, PatientRecord(ref="P-1", full_name="Anna Nowak", phone="+48 512 345 678", language="pl")
    )
    apply(database, clock, actor, ProviderRecord(ref="D-1", name="Dr. Lind", specialty="general practice"))
    with database.writer() as s:
        s.get(Staff, world.a.staff["operator"].id).external_ref = "U-OP"
        s.commit()
    return actor


def _appointment(**kw):
    fields = {"ref": "A-1", "patient_ref": "P-1", "start_at": VISIT, "state": S.BOOKED, "provider_ref": "D-1", **kw}
    return AppointmentRecord(**fields)


def test_a_booked_appointment_becomes_a_booking_with_its_reminders_and_no_ones_credit(database, clock, world, ehr):
    out = apply(database, clock, ehr, _appointment())
    assert out.result is Result.CREATED
    made = booking(database, "A-1", world.a.clinic.id)
    assert (made.id, made.status, made.channel, made.credited_staff_id) == (
        out.id,
        BookingStatus.BOOKED,
        Channel.ONLINE,
        None,
    )
    assert waiting_reminders(database, made.id) == 2
    assert credit(database, made.id) == []


def test_importing_the_same_appointment_again_changes_nothing(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment())
    before = snapshot(database)
    clock.advance(timedelta(minutes=10))
    again = apply(database, clock, ehr, _appointment(start_at=VISIT.astimezone(UTC)))
    assert again.result is Result.UNCHANGED
    assert snapshot(database) == before


def test_a_new_start_moves_the_booking_and_plans_its_reminders_again(database, clock, world, ehr):
    first = apply(database, clock, ehr, _appointment())
    later = VISIT + timedelta(days=1)
    out = apply(database, clock, ehr, _appointment(start_at=later))
    assert (out.result, out.id) == (Result.UPDATED, first.id)
    moved = booking(database, "A-1", world.a.clinic.id)
    assert moved.start_at == later and moved.end_at == later + timedelta(minutes=30)
    assert waiting_reminders(database, moved.id) == 2
    assert count(database, Booking) == 1


def test_a_cancellation_stops_the_reminders_and_voids_the_pending_credit(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment(booked_by_ref="U-OP", channel=Channel.PHONE))
    made = booking(database, "A-1", world.a.clinic.id)
    operator = world.a.staff["operator"].id
    assert credit(database, made.id) == [("pending", operator, "operator")]
    out = apply(database, clock, ehr, _appointment(state=S.CANCELLED, cancel_reason="patient is ill"))
    assert out.result is Result.UPDATED
    gone = booking(database, "A-1", world.a.clinic.id)
    assert (gone.status, gone.cancel_reason) == (BookingStatus.CANCELLED, "patient is ill")
    assert waiting_reminders(database, made.id) == 0
    assert credit(database, made.id) == [("pending", operator, "operator"), ("void", operator, "operator")]
    assert apply(database, clock, ehr, _appointment(state=S.CANCELLED)).result is Result.UNCHANGED


def test_credit_goes_to_the_staff_member_named_by_e_mail_too(database, clock, world, ehr):
    with database.writer() as s:
        s.get(Staff, world.a.staff["frontdesk"].id).email = "Desk@Clinic.example"
        s.commit()
    apply(database, clock, ehr, _appointment(booked_by_ref="desk@clinic.example", channel=Channel.IN_PERSON))
    made = booking(database, "A-1", world.a.clinic.id)
    assert credit(database, made.id) == [("pending", world.a.staff["frontdesk"].id, "frontdesk")]


@pytest.mark.parametrize("named", [{"booked_by_ref": "U-OP"}, {"channel": Channel.PHONE}])
def test_an_imported_booking_earns_nobody_unless_both_the_staff_member_and_the_channel_are_named(
    database, clock, world, ehr, named
):
    apply(database, clock, ehr, _appointment(**named))
    made = booking(database, "A-1", world.a.clinic.id)
    assert made.credited_staff_id is None and credit(database, made.id) == []


def test_a_front_desk_person_named_on_a_phone_booking_is_refused_with_the_reason(database, clock, world, ehr):
    with database.writer() as s:
        s.get(Staff, world.a.staff["frontdesk"].id).external_ref = "U-FD"
        s.commit()
    before = snapshot(database)
    out = apply(database, clock, ehr, _appointment(booked_by_ref="U-FD", channel=Channel.PHONE))
    assert out.result is Result.REFUSED
    assert "operator credit" in out.errors["booked_by_ref"][0] and "frontdesk" in out.errors["booked_by_ref"][0]
    assert snapshot(database) == before


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"patient_ref": "P-404"}, "patient_ref"),
        ({"provider_ref": "D-404"}, "provider_ref"),
        ({"service_ref": "S-404"}, "service_ref"),
        ({"booked_by_ref": "U-404", "channel": Channel.PHONE}, "booked_by_ref"),
        ({"start_at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC)}, "start_at"),
        ({"provider_ref": None}, "service_ref"),
    ],
)
def test_an_appointment_our_rules_refuse_is_reported_on_its_field_and_nothing_is_written(
    database, clock, world, ehr, fields, field
):
    before = snapshot(database)
    out = apply(database, clock, ehr, _appointment(**fields))
    assert out.result is Result.REFUSED and list(out.errors) == [field], out.errors
    assert snapshot(database) == before


def test_a_cancelled_booking_booked_again_is_refused_on_status_with_our_rule(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment())
    apply(database, clock, ehr, _appointment(state=S.CANCELLED))
    before = snapshot(database)
    out = apply(database, clock, ehr, _appointment(state=S.BOOKED, start_at=VISIT + timedelta(hours=1)))
    assert out.result is Result.REFUSED
    assert out.errors == {"status": [f"booking {out_id(database, world)} is cancelled; it cannot become booked"]}
    assert snapshot(database) == before


def out_id(database, world):
    return booking(database, "A-1", world.a.clinic.id).id


def test_an_attended_booking_cannot_be_cancelled(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment())
    clock.set(VISIT)
    assert apply(database, clock, ehr, _appointment(state=S.FULFILLED)).result is Result.UPDATED
    assert booking(database, "A-1", world.a.clinic.id).status is BookingStatus.ATTENDED
    out = apply(database, clock, ehr, _appointment(state=S.CANCELLED))
    assert out.result is Result.REFUSED and "attended" in out.errors["status"][0]
    assert booking(database, "A-1", world.a.clinic.id).status is BookingStatus.ATTENDED


def test_a_no_show_before_the_start_is_refused_and_after_it_voids_the_credit(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment(booked_by_ref="U-OP", channel=Channel.PHONE))
    early = apply(database, clock, ehr, _appointment(state=S.NOSHOW))
    assert early.result is Result.REFUSED and "not started" in early.errors["status"][0]
    clock.set(VISIT + timedelta(minutes=30))
    assert apply(database, clock, ehr, _appointment(state=S.NOSHOW)).result is Result.UPDATED
    made = booking(database, "A-1", world.a.clinic.id)
    assert made.status is BookingStatus.NO_SHOW
    assert [kind for kind, _, _ in credit(database, made.id)] == ["pending", "void"]


def test_an_arrived_appointment_makes_the_booking_attended_and_earns_its_credit(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment(booked_by_ref="U-OP", channel=Channel.PHONE))
    clock.set(VISIT - timedelta(minutes=10))
    assert apply(database, clock, ehr, _appointment(state=S.ARRIVED)).result is Result.UPDATED
    made = booking(database, "A-1", world.a.clinic.id)
    assert [kind for kind, _, _ in credit(database, made.id)] == ["pending", "earned"]
    assert waiting_reminders(database, made.id) == 0


@pytest.mark.parametrize("state", [S.PROPOSED, S.CANCELLED, S.NOSHOW, S.FULFILLED, S.ARRIVED])
def test_an_appointment_first_seen_not_booked_books_nothing_and_says_why(database, clock, world, ehr, state):
    before = snapshot(database)
    out = apply(database, clock, ehr, _appointment(state=state))
    assert (out.result, out.id) == (Result.UNCHANGED, None) and out.note
    assert snapshot(database) == before


def test_a_booking_does_not_go_back_to_proposed(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment())
    out = apply(database, clock, ehr, _appointment(state=S.PROPOSED))
    assert out.result is Result.REFUSED and list(out.errors) == ["status"]


def test_a_pending_appointment_is_booked_like_a_booked_one(database, clock, world, ehr):
    assert apply(database, clock, ehr, _appointment(state=S.PENDING)).result is Result.CREATED
    assert apply(database, clock, ehr, _appointment(state=S.BOOKED)).result is Result.UNCHANGED


def test_booking_identifiers_are_unique_per_clinic(database, clock, world, ehr):
    apply(database, clock, ehr, _appointment())
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.external_ref == "A-1")) == 1
