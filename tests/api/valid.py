"""The scene the validation tests vary, and a valid request for every endpoint that takes a body.

``Scene`` holds the ids of clinic a's rows that the requests name: the ``v``
fixture in conftest.py views clinic a's scene (scene.py, the one builder) through
it. ``VALID`` is, per endpoint, a request that succeeds on it: the tests change
one thing in it and expect a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from recall.common.clock import FixedClock
from tests.api.scene import ClinicScene
from tests.factories import ClinicWorld, future, iso

# --- the scene ------------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    """Clinic a's rows that the requests below name, and a few of clinic b's."""

    clock: FixedClock
    staff: dict[str, int]
    patient: int
    patient2: int
    provider: int
    service: int  # a general check-up, follow-up after 30 days
    ent_service: int  # no default follow-up interval
    visit: int  # checked in today with the check-up service
    ent_visit: int  # checked in today with the ENT service (a third patient)
    bare_visit: int  # checked in today with no service at all (a fourth patient)
    booking: int  # an operator's phone booking in three days
    task: int  # an open recall task of the second patient
    held: int  # a due recall task of the first patient, leased to the operator
    call: int  # a front-desk reminder call about the booking, handed over and still open
    b_operator: int
    b_service: int
    clinic: int
    target: int  # the team's bookings target
    webhook_endpoint: int  # the manager's CRM endpoint
    delivery: int  # its first delivery

    @classmethod
    def of(cls, a: ClinicScene, b: ClinicWorld) -> Scene:
        """Clinic a's scene by the names the requests use, and clinic b's ids they borrow."""
        return cls(
            clock=a.clock,
            staff=a.staff,
            patient=a.patient,
            patient2=a.patient2,
            provider=a.provider,
            service=a.service,
            ent_service=a.ent_service,
            visit=a.visit,
            ent_visit=a.ent_visit,
            bare_visit=a.bare_visit,
            booking=a.upcoming,
            task=a.task,
            held=a.held("operator"),
            call=a.upcoming_call,
            b_operator=b.staff["operator"].id,
            b_service=b.services[0].id,
            clinic=a.world.clinic.id,
            target=a.target,
            webhook_endpoint=a.webhook_endpoint,
            delivery=a.delivery,
        )

    def later(self, days: int = 7, hour: int = 9) -> str:
        return iso(future(self.clock, days=days, hour=hour))

    def ago(self, **delta: float) -> str:
        return iso(self.clock.now() - timedelta(**delta))

    @property
    def today(self) -> str:
        return self.clock.now().date().isoformat()  # 09:00 in Stockholm: the same day


# --- valid requests, each varied by the tests in one field -----------------------------------------------------------


def plan(**changes: Any) -> dict[str, Any]:
    return {
        "frontdesk_base_cents": 1000,
        "operator_base_cents": 1200,
        "recall_multiplier": 1.5,
        "service_rates": [],
        **changes,
    }


VALID: dict[str, tuple[str, Callable[[Scene], str], Callable[[Scene], Any], str]] = {
    # name: (method, path, body, who)
    "POST /patients": (
        "POST",
        lambda v: "/patients",
        lambda v: {
            "full_name": "Nils Nilsson",
            "phone": "070-765 43 21",
            "language": "sv",
            "timezone": "Europe/Stockholm",
            "date_of_birth": "1980-05-17",
            "external_ref": "EMR-1",
            "consent_sms": True,
        },
        "frontdesk",
    ),
    "PATCH /patients/<id>": (
        "PATCH",
        lambda v: f"/patients/{v.patient}",
        lambda v: {"full_name": "Astrid Andersson", "phone": "070-123 45 67", "consent_call": False},
        "operator",
    ),
    "POST /providers": (
        "POST",
        lambda v: "/providers",
        lambda v: {"name": "Dr. Wang Fang", "specialty": "ENT"},
        "manager",
    ),
    "PATCH /providers/<id>": ("PATCH", lambda v: f"/providers/{v.provider}", lambda v: {"active": False}, "manager"),
    "POST /services": (
        "POST",
        lambda v: "/services",
        lambda v: {"name": "Vaccination", "duration_minutes": 15, "follow_up_interval_days": 180},
        "manager",
    ),
    "PATCH /services/<id>": (
        "PATCH",
        lambda v: f"/services/{v.service}",
        lambda v: {"duration_minutes": 45, "follow_up_interval_days": None},
        "manager",
    ),
    "POST /staff": (
        "POST",
        lambda v: "/staff",
        lambda v: {"name": "Li Wei", "role": "operator", "email": "li.wei@example.com"},
        "manager",
    ),
    "PATCH /staff/<id>": (
        "PATCH",
        lambda v: f"/staff/{v.staff['operator2']}",
        lambda v: {"name": "Olga Petrova", "active": False},
        "manager",
    ),
    "POST /staff/<id>/tokens": (
        "POST",
        lambda v: f"/staff/{v.staff['operator']}/tokens",
        lambda v: {"label": "desk laptop"},
        "manager",
    ),
    "PATCH /clinic": (
        "PATCH",
        lambda v: "/clinic",
        lambda v: {
            "name": "Nordvik Clinic",
            "timezone": "Europe/Warsaw",
            "phone_region": "PL",
            "currency": "PLN",
            "recall_cooling_off_hours": 48,
            "calling_weekday_start": "08:30",
            "calling_weekday_end": "19:00",
        },
        "manager",
    ),
    "PUT /clinic/pay-plan": (
        "PUT",
        lambda v: "/clinic/pay-plan",
        lambda v: plan(service_rates=[{"service_id": v.service, "role": "operator", "amount_cents": 1500}]),
        "manager",
    ),
    "PUT /clinic/integration/frame-origins": (
        "PUT",
        lambda v: "/clinic/integration/frame-origins",
        lambda v: {"frame_origins": ["https://crm.example.com"]},
        "manager",
    ),
    "PUT /clinic/reminder-policy": (
        "PUT",
        lambda v: "/clinic/reminder-policy",
        lambda v: {
            "steps": [
                {"offset_minutes": 1440, "channel": "sms", "run_if_confirmed": True},
                {"offset_minutes": 120, "channel": "voice", "fallback": "sms"},
            ],
            "overrides": [{"service_id": v.service, "steps": [{"offset_minutes": 60, "channel": "sms"}]}],
            "hours": {
                "weekday_start": "08:00",
                "weekday_end": "19:00",
                "weekend_start": "10:00",
                "weekend_end": "14:00",
            },
            "templates": {"sms": {"sv": "{clinic}: din tid {date} kl. {time}. Svara 1 eller 2."}},
            "show_provider": False,
            "sender": {"from_number": "08-500 000 00", "messaging_service_sid": None},
            "rate_limits": {"sms_per_second": 2, "calls_per_second": 1},
        },
        "manager",
    ),
    "POST /clinic/reminder-policy/preview": (
        "POST",
        lambda v: "/clinic/reminder-policy/preview",
        lambda v: {
            "template": "{clinic}: {date} {time}",
            "language": "sv",
            "channel": "sms",
            "start_at": v.later(),
            "service_id": v.service,
            "provider_id": v.provider,
        },
        "manager",
    ),
    "POST /earnings/what-if": (
        "POST",
        lambda v: "/earnings/what-if",
        lambda v: {"from": "2026-01-01", "to": "2026-02-28", "plan": plan()},
        "manager",
    ),
    "POST /bookings": (
        "POST",
        lambda v: "/bookings",
        lambda v: {
            "patient_id": v.patient,
            "provider_id": v.provider,
            "service_id": v.service,
            "start_at": v.later(),
            "channel": "phone",
            "note": "prefers mornings",
        },
        "operator",
    ),
    "POST /bookings/<id>/move": (
        "POST",
        lambda v: f"/bookings/{v.booking}/move",
        lambda v: {"start_at": v.later(days=5), "provider_id": v.provider},
        "operator",
    ),
    "POST /bookings/<id>/cancel": (
        "POST",
        lambda v: f"/bookings/{v.booking}/cancel",
        lambda v: {"reason": "the patient asked"},
        "operator",
    ),
    "POST /recall-tasks/<id>/attempts": (
        "POST",
        lambda v: f"/recall-tasks/{v.held}/attempts",
        lambda v: {
            "outcome": "callback_requested",
            "callback_at": v.later(days=1, hour=10),
            "channel": "phone",
            "duration_seconds": 95,
            "note": "asked to be called after lunch",
        },
        "operator",
    ),
    "POST /reminder-calls/<id>/outcome": (
        "POST",
        lambda v: f"/reminder-calls/{v.call}/outcome",
        lambda v: {
            "outcome": "rescheduled",
            "start_at": v.later(days=5),
            "end_at": v.later(days=5, hour=10),
            "provider_id": v.provider,
            "note": "mornings suit her better",
        },
        "frontdesk",
    ),
    "POST /patients/<id>/erase": (
        "POST",
        lambda v: f"/patients/{v.patient}/erase",
        lambda v: {"confirm": True},
        "manager",
    ),
    "POST /targets": (
        "POST",
        lambda v: "/targets",
        lambda v: {
            "kpi": "conversion",
            "staff_id": v.staff["operator2"],
            "start_value": 0.3,
            "start_month": "2026-03",
            "rise_percent": 5,
            "cap": 0.5,
        },
        "manager",
    ),  # fmt: skip
    "PATCH /targets/<id>": ("PATCH", lambda v: f"/targets/{v.target}", lambda v: {"cap": 60}, "manager"),
    "POST /webhooks/endpoints": (
        "POST",
        lambda v: "/webhooks/endpoints",
        lambda v: {"url": "https://crm.example.com/recall", "event_types": ["booking.created"], "description": "CRM"},
        "manager",
    ),
    "PATCH /webhooks/endpoints/<id>": (
        "PATCH",
        lambda v: f"/webhooks/endpoints/{v.webhook_endpoint}",
        lambda v: {"description": "the CRM", "enabled": False},
        "manager",
    ),
    "POST /webhooks/endpoints/<id>/replay-failed": (
        "POST",
        lambda v: f"/webhooks/endpoints/{v.webhook_endpoint}/replay-failed",
        lambda v: {"since": v.ago(days=7)},
        "manager",
    ),
    "POST /clinic/integration/tokens": (
        "POST",
        lambda v: "/clinic/integration/tokens",
        lambda v: {"label": "EHR"},
        "manager",
    ),
    "POST /fhir": (
        "POST",
        lambda v: "/fhir",
        lambda v: {"resourceType": "Bundle", "type": "batch", "entry": []},
        "manager",
    ),
    "POST /visits": (
        "POST",
        lambda v: "/visits",
        lambda v: {"patient_id": v.patient2, "provider_id": v.provider, "service_id": v.service},
        "frontdesk",
    ),
    "POST /visits/<id>/checkout": (
        "POST",
        lambda v: f"/visits/{v.visit}/checkout",
        lambda v: {
            "follow_up": "booked",
            "booking": {"start_at": v.later(days=30), "service_id": v.service, "note": "bring the referral"},
            "note": "call after 5 pm",
        },
        "frontdesk",
    ),
}

# A string far longer than any field takes.
LONG = "x" * 100_000
