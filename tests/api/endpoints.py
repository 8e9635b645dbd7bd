"""The table of endpoints that test_access.py checks.

``ENDPOINTS`` lists every endpoint under /api/v1 with the roles that may call it and a request that succeeds
for them, in the scene (scene.py) that the ``scene`` fixture builds.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.api.scene import ClinicScene, reminder_policy
from tests.factories import Api

ROLES = ("operator", "frontdesk", "manager")
EVERYONE = frozenset(ROLES)
MANAGER = frozenset({"manager"})
AT_THE_CLINIC = frozenset({"frontdesk", "manager"})
QUEUE = frozenset({"operator", "manager"})
# Not resources: the OpenAPI document and the interactive docs are public.
UNGUARDED = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/static/<path:filename>"}
# Signed by the EHR with its secret instead of a bearer token (tests/api/test_fhir_notify.py).
UNGUARDED |= {"/api/v1/fhir/notify/<int:clinic_id>"}


# --- the table of endpoints --------------------------------------------------------------------------------------

Path = Callable[[ClinicScene, str], str]
Body = Callable[[ClinicScene, str], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str  # exactly as in app.url_map, without the /api/v1 prefix
    allowed: frozenset[str]
    path: Path
    body: Body | None = None
    variant: str = ""
    upload: str | None = None  # the body is a multipart form; this field of it is sent as a file

    @property
    def name(self) -> str:
        return f"{self.method} {self.rule}" + (f" ({self.variant})" if self.variant else "")

    @property
    def takes_id(self) -> bool:
        return "<" in self.rule

    def call(self, api: Api, scene: ClinicScene, who: str, *, path_from: ClinicScene | None = None) -> Any:
        body = self.body(scene, who) if self.body else None
        url = self.path(path_from or scene, who)
        if body is not None and self.upload is not None:
            form = {**body, self.upload: (io.BytesIO(body[self.upload].encode()), f"{self.upload}.csv")}
            return api._call(self.method, url, data=form, content_type="multipart/form-data")
        return api._call(self.method, url, **({"json": body} if body is not None else {}))


def booking_body(s: ClinicScene, who: str) -> dict[str, Any]:
    return {
        "patient_id": s.patient,
        "service_id": s.service,
        "start_at": s.later(),
        "channel": "in_person" if who == "frontdesk" else "phone",
    }


def pay_plan(s: ClinicScene, _who: str = "") -> dict[str, Any]:
    return {
        "frontdesk_base_cents": 1200,
        "operator_base_cents": 1500,
        "recall_multiplier": 2,
        "service_rates": [{"service_id": s.service, "role": "operator", "amount_cents": 1800}],
    }


def fhir_batch() -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "id": "p-1",
        "identifier": [{"value": "MRN-ACCESS"}],
        "name": [{"text": "Ida Holm"}],
        "telecom": [{"system": "phone", "value": "070-765 43 29"}],
    }
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": patient, "request": {"method": "PUT", "url": "Patient/p-1"}}],
    }


def ep(
    method: str,
    rule: str,
    allowed: frozenset[str],
    path: str | Path,
    body: Body | None = None,
    variant: str = "",
    upload: str | None = None,
) -> Endpoint:
    resolve: Path = (lambda _s, _w, p=path: p) if isinstance(path, str) else path
    return Endpoint(method, rule, allowed, resolve, body, variant, upload)


ENDPOINTS: list[Endpoint] = [
    # the clinic and its pay plan
    ep("GET", "/clinic", EVERYONE, "/clinic"),
    ep("PATCH", "/clinic", MANAGER, "/clinic", lambda s, w: {"name": "Nordvik Clinic"}),
    ep("GET", "/clinic/pay-plan", EVERYONE, "/clinic/pay-plan"),
    ep("PUT", "/clinic/pay-plan", MANAGER, "/clinic/pay-plan", pay_plan),
    # the CRM wiring
    ep("GET", "/clinic/integration", MANAGER, "/clinic/integration"),
    ep("POST", "/clinic/integration/launch-secret", MANAGER, "/clinic/integration/launch-secret"),
    ep(
        "PUT",
        "/clinic/integration/frame-origins",
        MANAGER,
        "/clinic/integration/frame-origins",
        lambda s, w: {"frame_origins": ["https://crm.example.com"]},
    ),
    # the EHR wiring and the FHIR Bundle endpoint (tests/api/test_fhir_api.py: integration tokens too)
    ep("GET", "/clinic/integration/tokens", MANAGER, "/clinic/integration/tokens"),
    ep("POST", "/clinic/integration/tokens", MANAGER, "/clinic/integration/tokens", lambda s, w: {"label": "EHR"}),
    ep(
        "DELETE",
        "/clinic/integration/tokens/<int:token_id>",
        MANAGER,
        lambda s, w: f"/clinic/integration/tokens/{s.integration_token}",
    ),
    ep("POST", "/clinic/integration/ehr-secret", MANAGER, "/clinic/integration/ehr-secret"),
    ep("POST", "/fhir", MANAGER, "/fhir", lambda s, w: fhir_batch()),
    # the reminder policy
    ep("GET", "/clinic/reminder-policy", EVERYONE, "/clinic/reminder-policy"),
    ep("PUT", "/clinic/reminder-policy", MANAGER, "/clinic/reminder-policy", reminder_policy),
    ep("GET", "/clinic/reminder-policy/versions", MANAGER, "/clinic/reminder-policy/versions"),
    ep(
        "GET",
        "/clinic/reminder-policy/versions/<int:version>",
        MANAGER,
        lambda s, w: f"/clinic/reminder-policy/versions/{s.policy_version}",
    ),
    ep(
        "POST",
        "/clinic/reminder-policy/preview",
        MANAGER,
        "/clinic/reminder-policy/preview",
        lambda s, w: {"language": "pl", "start_at": s.later(), "service_id": s.service, "provider_id": s.provider},
    ),
    # staff and tokens
    ep("GET", "/me", EVERYONE, "/me"),
    ep("GET", "/staff", MANAGER, "/staff"),
    ep("POST", "/staff", MANAGER, "/staff", lambda s, w: {"name": "Li Wei", "role": "operator"}),
    ep("GET", "/staff/<int:staff_id>", EVERYONE, lambda s, w: f"/staff/{s.own(w)}", variant="own"),
    ep("GET", "/staff/<int:staff_id>", MANAGER, lambda s, w: f"/staff/{s.other}", variant="someone else"),
    ep(
        "PATCH",
        "/staff/<int:staff_id>",
        MANAGER,
        lambda s, w: f"/staff/{s.other}",
        lambda s, w: {"name": "Olga Petrova"},
    ),
    ep("GET", "/staff/<int:staff_id>/tokens", EVERYONE, lambda s, w: f"/staff/{s.own(w)}/tokens", variant="own"),
    ep("GET", "/staff/<int:staff_id>/tokens", MANAGER, lambda s, w: f"/staff/{s.other}/tokens", variant="someone else"),
    ep(
        "POST",
        "/staff/<int:staff_id>/tokens",
        MANAGER,
        lambda s, w: f"/staff/{s.other}/tokens",
        lambda s, w: {"label": "desk laptop"},
    ),
    ep(
        "DELETE",
        "/staff/<int:staff_id>/tokens/<int:token_id>",
        EVERYONE,
        lambda s, w: f"/staff/{s.own(w)}/tokens/{s.tokens[w]}",
        variant="own",
    ),
    ep(
        "DELETE",
        "/staff/<int:staff_id>/tokens/<int:token_id>",
        MANAGER,
        lambda s, w: f"/staff/{s.other}/tokens/{s.tokens['operator2' if 'operator2' in s.tokens else 'frontdesk']}",
        variant="someone else",
    ),
    # patients
    ep("GET", "/patients", EVERYONE, "/patients"),
    ep(
        "POST", "/patients", EVERYONE, "/patients", lambda s, w: {"full_name": "Nils Nilsson", "phone": "070-765 43 21"}
    ),
    ep("GET", "/patients/<int:patient_id>", EVERYONE, lambda s, w: f"/patients/{s.patient}"),
    ep(
        "PATCH",
        "/patients/<int:patient_id>",
        EVERYONE,
        lambda s, w: f"/patients/{s.patient}",
        lambda s, w: {"language": "en"},
    ),
    # a patient's privacy rights
    ep("GET", "/patients/<int:patient_id>/export", MANAGER, lambda s, w: f"/patients/{s.patient}/export"),
    ep(
        "POST",
        "/patients/<int:patient_id>/erase",
        MANAGER,
        lambda s, w: f"/patients/{s.patient}/erase",
        lambda s, w: {"confirm": True},
    ),
    # the catalog
    ep("GET", "/providers", EVERYONE, "/providers"),
    ep("POST", "/providers", MANAGER, "/providers", lambda s, w: {"name": "Dr. Wang Fang", "specialty": "ENT"}),
    ep("GET", "/providers/<int:provider_id>", EVERYONE, lambda s, w: f"/providers/{s.provider}"),
    ep(
        "PATCH",
        "/providers/<int:provider_id>",
        MANAGER,
        lambda s, w: f"/providers/{s.provider}",
        lambda s, w: {"specialty": "family medicine"},
    ),
    ep("GET", "/services", EVERYONE, "/services"),
    ep("POST", "/services", MANAGER, "/services", lambda s, w: {"name": "Vaccination", "duration_minutes": 15}),
    ep("GET", "/services/<int:service_id>", EVERYONE, lambda s, w: f"/services/{s.service}"),
    ep(
        "PATCH",
        "/services/<int:service_id>",
        MANAGER,
        lambda s, w: f"/services/{s.service}",
        lambda s, w: {"duration_minutes": 45},
    ),
    # visits
    ep("POST", "/visits", AT_THE_CLINIC, "/visits", lambda s, w: {"patient_id": s.patient2, "service_id": s.service}),
    ep("GET", "/visits", EVERYONE, "/visits"),
    ep("GET", "/visits/<int:visit_id>", EVERYONE, lambda s, w: f"/visits/{s.visit}"),
    ep(
        "POST",
        "/visits/<int:visit_id>/checkout",
        AT_THE_CLINIC,
        lambda s, w: f"/visits/{s.visit}/checkout",
        lambda s, w: {"follow_up": "not_needed"},
    ),
    # bookings
    ep("POST", "/bookings", EVERYONE, "/bookings", booking_body),
    ep("GET", "/bookings", EVERYONE, "/bookings"),
    ep("GET", "/bookings/<int:booking_id>", EVERYONE, lambda s, w: f"/bookings/{s.booking}"),
    ep(
        "GET",
        "/bookings/<int:booking_id>/credit",
        frozenset({"operator", "manager"}),
        lambda s, w: f"/bookings/{s.booking}/credit",
        variant="an operator's booking",
    ),
    ep(
        "GET",
        "/bookings/<int:booking_id>/credit",
        AT_THE_CLINIC,
        lambda s, w: f"/bookings/{s.desk_booking}/credit",
        variant="a front-desk booking",
    ),
    ep("POST", "/bookings/<int:booking_id>/confirm", EVERYONE, lambda s, w: f"/bookings/{s.booking}/confirm"),
    ep(
        "POST",
        "/bookings/<int:booking_id>/move",
        EVERYONE,
        lambda s, w: f"/bookings/{s.booking}/move",
        lambda s, w: {"start_at": s.later()},
    ),
    ep(
        "POST",
        "/bookings/<int:booking_id>/cancel",
        EVERYONE,
        lambda s, w: f"/bookings/{s.booking}/cancel",
        lambda s, w: {"reason": "the patient asked"},
    ),
    ep("POST", "/bookings/<int:booking_id>/attend", AT_THE_CLINIC, lambda s, w: f"/bookings/{s.booking}/attend"),
    ep("POST", "/bookings/<int:booking_id>/no-show", AT_THE_CLINIC, lambda s, w: f"/bookings/{s.booking}/no-show"),
    # the recall queue
    ep("GET", "/recall-tasks", QUEUE, "/recall-tasks"),
    ep("GET", "/recall-tasks/<int:task_id>", QUEUE, lambda s, w: f"/recall-tasks/{s.task}"),
    ep("POST", "/recall-queue/claim", QUEUE, "/recall-queue/claim"),
    ep("GET", "/recall-queue/surge", QUEUE, "/recall-queue/surge"),
    ep("PUT", "/recall-tasks/<int:task_id>/lease", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/lease"),
    ep("DELETE", "/recall-tasks/<int:task_id>/lease", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/lease"),
    ep(
        "POST",
        "/recall-tasks/<int:task_id>/attempts",
        QUEUE,
        lambda s, w: f"/recall-tasks/{s.held(w)}/attempts",
        lambda s, w: {"outcome": "no_answer", "duration_seconds": 25},
    ),
    ep("GET", "/recall-tasks/<int:task_id>/attempts", QUEUE, lambda s, w: f"/recall-tasks/{s.held(w)}/attempts"),
    # reminders, and the front desk's reminder calls
    ep("GET", "/reminders", EVERYONE, "/reminders"),
    ep("GET", "/reminders/<int:reminder_id>", EVERYONE, lambda s, w: f"/reminders/{s.call}"),
    ep("GET", "/reminder-calls", AT_THE_CLINIC, "/reminder-calls"),
    ep(
        "POST",
        "/reminder-calls/<int:reminder_id>/outcome",
        AT_THE_CLINIC,
        lambda s, w: f"/reminder-calls/{s.call}/outcome",
        lambda s, w: {"outcome": "no_answer", "note": "rang twice"},
    ),
    # queue statistics
    ep("GET", "/recall-queue/health", MANAGER, "/recall-queue/health"),
    ep("GET", "/recall-queue/kpis", MANAGER, "/recall-queue/kpis"),
    ep(
        "GET",
        "/recall-queue/kpis",
        MANAGER,
        lambda s, w: f"/recall-queue/kpis?from=2026-03-01&to=2026-03-07&group=week&staff_id={s.other}",
        variant="one operator's week",
    ),
    ep("GET", "/recall-queue/staffing", MANAGER, "/recall-queue/staffing?target_days=5&hours_per_day=7&occupancy=0.85"),
    # earnings and the ledger
    ep("GET", "/earnings/me", EVERYONE, "/earnings/me"),
    ep("GET", "/earnings/staff/<int:staff_id>", EVERYONE, lambda s, w: f"/earnings/staff/{s.own(w)}", variant="own"),
    ep(
        "GET",
        "/earnings/staff/<int:staff_id>",
        MANAGER,
        lambda s, w: f"/earnings/staff/{s.other}",
        variant="someone else",
    ),
    ep("GET", "/earnings/team", MANAGER, "/earnings/team"),
    ep(
        "POST",
        "/earnings/what-if",
        MANAGER,
        "/earnings/what-if",
        lambda s, w: {"from": "2026-01-01", "to": "2026-02-28", "plan": pay_plan(s)},
    ),
    ep("GET", "/ledger", EVERYONE, "/ledger"),
    ep("GET", "/ledger", EVERYONE, lambda s, w: f"/ledger?staff_id={s.own(w)}", variant="own staff_id"),
    ep("GET", "/ledger", MANAGER, lambda s, w: f"/ledger?staff_id={s.other}", variant="someone else's staff_id"),
    # exports
    ep("GET", "/exports/payroll.csv", MANAGER, "/exports/payroll.csv?month=2026-02"),
    ep("GET", "/exports/recall-queue.csv", QUEUE, "/exports/recall-queue.csv"),
    ep("GET", "/exports/overdue.csv", QUEUE, "/exports/overdue.csv"),
    # imports
    ep(
        "POST",
        "/imports/csv",
        MANAGER,
        "/imports/csv",
        lambda s, w: {"file": "id;name;phone\nP-77;Li Wei;070-765 43 88\n", "kind": "patients", "dry_run": "false"},
        upload="file",
    ),
    # no-shows with and without reminders
    ep("GET", "/reports/no-shows", MANAGER, "/reports/no-shows"),
    ep("GET", "/reports/no-shows", MANAGER, "/reports/no-shows?from=2026-03-01&to=2026-03-07", variant="a week"),
    ep("GET", "/reports/no-shows.csv", MANAGER, "/reports/no-shows.csv?from=2026-02-01&to=2026-02-28"),
    # targets that rise
    ep("GET", "/targets", MANAGER, "/targets"),
    ep(
        "POST",
        "/targets",
        MANAGER,
        "/targets",
        lambda s, w: {
            "kpi": "conversion",
            "staff_id": s.other,
            "start_value": 0.3,
            "start_month": "2026-03",
            "rise_percent": 5,
            "cap": 0.5,
        },
    ),  # fmt: skip
    ep("GET", "/targets/<int:target_id>", MANAGER, lambda s, w: f"/targets/{s.target}"),
    ep("PATCH", "/targets/<int:target_id>", MANAGER, lambda s, w: f"/targets/{s.target}", lambda s, w: {"cap": 60}),
    ep("DELETE", "/targets/<int:target_id>", MANAGER, lambda s, w: f"/targets/{s.target}"),
    ep("GET", "/targets/progress", MANAGER, "/targets/progress"),
    ep("GET", "/targets/progress", MANAGER, "/targets/progress?month=2026-02", variant="a past month"),
    ep("GET", "/targets/me", QUEUE, "/targets/me"),
    # webhooks to the CRM
    ep("GET", "/webhooks/event-types", MANAGER, "/webhooks/event-types"),
    ep("GET", "/webhooks/endpoints", MANAGER, "/webhooks/endpoints"),
    ep(
        "POST",
        "/webhooks/endpoints",
        MANAGER,
        "/webhooks/endpoints",
        lambda s, w: {"url": "https://crm.example.com/recall", "event_types": ["booking.created"]},
    ),
    ep(
        "GET",
        "/webhooks/endpoints/<int:endpoint_id>",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}",
    ),
    ep(
        "PATCH",
        "/webhooks/endpoints/<int:endpoint_id>",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}",
        lambda s, w: {"description": "the CRM", "enabled": False},
    ),
    ep(
        "DELETE",
        "/webhooks/endpoints/<int:endpoint_id>",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}",
    ),
    ep(
        "POST",
        "/webhooks/endpoints/<int:endpoint_id>/rotate-secret",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}/rotate-secret",
    ),
    ep(
        "GET",
        "/webhooks/endpoints/<int:endpoint_id>/deliveries",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}/deliveries",
    ),
    ep(
        "POST",
        "/webhooks/endpoints/<int:endpoint_id>/replay-failed",
        MANAGER,
        lambda s, w: f"/webhooks/endpoints/{s.webhook_endpoint}/replay-failed",
        lambda s, w: {"since": "2026-01-01T00:00:00Z"},
    ),
    ep(
        "POST",
        "/webhooks/deliveries/<int:delivery_id>/replay",
        MANAGER,
        lambda s, w: f"/webhooks/deliveries/{s.delivery}/replay",
    ),
    # reports
    ep("GET", "/reports/funnel", MANAGER, "/reports/funnel"),
    ep(
        "GET",
        "/reports/funnel",
        MANAGER,
        lambda s, w: f"/reports/funnel?from=2026-03-01&to=2026-03-07&group=week&staff_id={s.other}&reason=declined",
        variant="filtered",
    ),
    ep("GET", "/reports/funnel.csv", MANAGER, "/reports/funnel.csv?from=2026-03-01&to=2026-03-07"),
    ep("GET", "/reports/time-to-answer", MANAGER, "/reports/time-to-answer"),
    ep("GET", "/reports/time-to-answer.csv", MANAGER, "/reports/time-to-answer.csv?group=week"),
]

BY_NAME = {e.name: e for e in ENDPOINTS}
assert len(BY_NAME) == len(ENDPOINTS), "two rows of the table share a name"
