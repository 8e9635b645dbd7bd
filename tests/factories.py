"""Plain factory functions with keyword defaults, and a two-clinic world for API tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from recall.clinic.catalog import Provider, Service, create_provider, create_service
from recall.clinic.clinics import Clinic, ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Patient, create_patient
from recall.clinic.staff import Staff, create_staff, issue_token
from recall.common.actors import Actor, Role
from recall.common.clock import Clock, FixedClock
from recall.common.db import Database
from recall.queue.claim_statements import take_patient
from recall.queue.tasks import RecallTask, TaskReason, open_task
from recall.reminders.dispatch import Dispatcher, DispatchSettings
from recall.reminders.planning import Channel as Via
from recall.reminders.planning import Fallback
from recall.reminders.reminders import Reminder, ReminderStatus, hand_over
from recall.visits.bookings import Booking, BookingRequest, Channel, create_booking

if TYPE_CHECKING:  # ``Api`` only drives a client it is given: importing the factories imports no Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse


def make_clinic(db: Database, clock: Clock, **kw: Any) -> Clinic:
    data = {
        "name": "Nordvik Family Clinic",
        "timezone": "Europe/Stockholm",
        "phone_region": "SE",
        "currency": "SEK",
        **kw,
    }
    with db.writer() as s:
        return create_clinic(s, clock, ClinicInput(**data))


def make_staff(db: Database, clock: Clock, clinic_id: int, role: Role = Role.OPERATOR, **kw: Any) -> tuple[Staff, str]:
    with db.writer() as s:
        member = create_staff(
            s,
            clock,
            Actor.system(clinic_id),
            name=kw.get("name", f"{role.value} person"),
            role=role,
            email=kw.get("email"),
        )
        return member, issue_token(s, clock, member, "test").secret


def make_provider(db: Database, clock: Clock, clinic_id: int, **kw: Any) -> Provider:
    with db.writer() as s:
        return create_provider(
            s, clock, Actor.system(clinic_id), {"name": "Dr. Anna Berg", "specialty": "general practice", **kw}
        )


def make_service(db: Database, clock: Clock, clinic_id: int, **kw: Any) -> Service:
    data = {"name": "General check-up", "duration_minutes": 30, "follow_up_interval_days": 30, **kw}
    with db.writer() as s:
        return create_service(s, clock, Actor.system(clinic_id), data)


def make_patient(db: Database, clock: Clock, clinic_id: int, **kw: Any) -> Patient:
    data = {"full_name": "Astrid Andersson", "phone": "070-123 45 67", "language": "sv", **kw}
    with db.writer() as s:
        return create_patient(s, clock, Actor.system(clinic_id), data)


def make_task(db: Database, clock: Clock, clinic_id: int, patient_id: int, **kw: Any) -> RecallTask:
    """An open recall task, due now unless ``due_at`` says otherwise; ``leased_to`` leases it for 15 minutes."""
    leased_to = kw.pop("leased_to", None)
    with db.writer() as s:
        clinic = s.get(Clinic, clinic_id)
        assert clinic is not None
        task = open_task(
            s,
            clinic=clinic,
            patient_id=patient_id,
            reason=kw.pop("reason", TaskReason.UNDECIDED),
            due_at=kw.pop("due_at", clock.now()),
            now=kw.pop("now", clock.now()),
            follow_up_date=kw.pop("follow_up_date", None),
            service_id=kw.pop("service_id", None),
            provider_id=kw.pop("provider_id", None),
        )
        for name, value in kw.items():  # queue state: reserved_for_id, reserved_until, ...
            setattr(task, name, value)
        if leased_to is not None:  # as a claim does: the patient's claim row names the lease's holder
            assert take_patient(s, patient_id, leased_to, clock.now())
            task.lease_holder_id, task.lease_expires_at = leased_to, clock.now() + timedelta(minutes=15)
        s.commit()
        return task


def make_booking(
    db: Database,
    clock: Clock,
    cw: ClinicWorld,
    *,
    by: Actor | None = None,
    days: int = 7,
    hour: int = 9,
    patient: dict[str, Any] | None = None,
    **kw: Any,
) -> Booking:
    """A booking in the clinic, made ``by`` its operator unless another actor is named: by phone, for the first
    patient's general check-up ``days`` ahead at ``hour`` UTC, unless ``kw`` (any BookingRequest field) says
    otherwise. ``patient`` books a new patient instead, made with those fields (``make_patient``'s)."""
    if patient is not None:
        assert "patient_id" not in kw, "a new patient or an existing one, not both"
        kw["patient_id"] = make_patient(db, clock, cw.clinic.id, **patient).id
    request = {
        "patient_id": cw.patients[0].id,
        "service_id": cw.services[0].id,
        "start_at": future(clock, days=days, hour=hour),
        "channel": Channel.PHONE,
        **kw,
    }
    with db.writer() as s:
        return create_booking(s, clock, by or actor_of(cw.staff["operator"]), BookingRequest(**request))


def row(db: Database, model: type[Any], ident: int) -> Any:
    """One row, as it is now in the database (a fresh read)."""
    with db.reader() as s:
        found = s.get(model, ident)
        assert found is not None
        return found


def make_call(database: Database, clock: Clock, booking_id: int, *, offset_minutes: int = 60) -> int:
    """A front-desk call about the booking, handed over now as the dispatcher would; returns the reminder's id."""
    now = clock.now()
    with database.writer() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None
        reminder = Reminder(
            clinic_id=booking.clinic_id,
            booking_id=booking.id,
            patient_id=booking.patient_id,
            policy_version=0,
            step_index=0,
            offset_minutes=offset_minutes,
            channel=Via.FRONTDESK_CALL,
            fallback=Fallback.NONE,
            status=ReminderStatus.PLANNED,
            send_at=now,
            due_at=now,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        s.add(reminder)
        s.flush()
        hand_over(s, reminder, now)
        s.commit()
        return reminder.id


class NoTwilio:
    """The sender and caller of a dispatcher that only hands calls over: being asked to send is a failure."""

    def send_sms(self, **_kw: Any) -> Any:
        raise AssertionError("nothing here is due to go out by SMS")

    def place_call(self, **_kw: Any) -> Any:
        raise AssertionError("nothing here is due to go out as a voice call")


def dispatch_at(database: Database, at: datetime) -> dict[str, int]:
    """The real dispatcher draining what is due at ``at``, for tests where only human calls are due."""
    settings = DispatchSettings(worker_id="desk-test", callback_base="https://clinic.example.com", concurrency=2)
    return Dispatcher(database, FixedClock(at), NoTwilio(), NoTwilio(), settings).drain().outcomes


def actor_of(staff: Staff) -> Actor:
    return Actor(staff_id=staff.id, clinic_id=staff.clinic_id, role=staff.role)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass
class ClinicWorld:
    clinic: Clinic
    staff: dict[str, Staff] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    providers: list[Provider] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    patients: list[Patient] = field(default_factory=list)


@dataclass
class World:
    a: ClinicWorld
    b: ClinicWorld
    clock: Clock


def _clinic_world(db: Database, clock: Clock, name: str, people: dict[str, Role]) -> ClinicWorld:
    cw = ClinicWorld(clinic=make_clinic(db, clock, name=name))
    for key, role in people.items():
        cw.staff[key], cw.tokens[key] = make_staff(db, clock, cw.clinic.id, role, name=key)
    cw.providers = [
        make_provider(db, clock, cw.clinic.id),
        make_provider(db, clock, cw.clinic.id, name="Dr. Piotr Zieliński", specialty="ENT"),
    ]
    cw.services = [
        make_service(db, clock, cw.clinic.id),
        make_service(
            db, clock, cw.clinic.id, name="ENT consultation", duration_minutes=20, follow_up_interval_days=None
        ),
    ]
    cw.patients = [
        make_patient(db, clock, cw.clinic.id),
        make_patient(db, clock, cw.clinic.id, full_name="Katarzyna Kowalska", phone="+48 512 345 678", language="pl"),
    ]
    return cw


def make_world(db: Database, clock: Clock) -> World:
    a = _clinic_world(
        db,
        clock,
        "Nordvik Family Clinic",
        {
            "manager": Role.MANAGER,
            "frontdesk": Role.FRONTDESK,
            "frontdesk2": Role.FRONTDESK,
            "operator": Role.OPERATOR,
            "operator2": Role.OPERATOR,
        },
    )
    b = _clinic_world(
        db, clock, "Other Clinic", {"manager": Role.MANAGER, "frontdesk": Role.FRONTDESK, "operator": Role.OPERATOR}
    )
    return World(a=a, b=b, clock=clock)


class Api:
    """The test client, speaking as one staff member."""

    def __init__(self, client: FlaskClient, token: str | None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, url: str, **kw: Any) -> TestResponse:
        return self.client.open(f"/api/v1{url}", method=method, headers=self.headers, **kw)

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self._call("GET", url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> TestResponse:
        return self._call("POST", url, json=json, **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> TestResponse:
        return self._call("PUT", url, json=json, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> TestResponse:
        return self._call("PATCH", url, json=json, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self._call("DELETE", url, **kw)


def api_as(client: FlaskClient, cw: ClinicWorld, who: str) -> Api:
    return Api(client, cw.tokens[who])


def future(clock: Clock, days: int = 7, hour: int = 9) -> datetime:
    """A whole hour some days ahead, in UTC."""
    return (clock.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
