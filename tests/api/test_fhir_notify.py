"""The EHR's notifications (POST /api/v1/fhir/notify/<clinic>), signed per Standard Webhooks: a change made in
the EHR goes through our use cases exactly as if staff had made it here. Signatures are made with the
standardwebhooks library, as an EHR makes them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle
from standardwebhooks.webhooks import Webhook

from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import BookingStatus
from tests.api.checks import assert_error, nothing_written, snapshot
from tests.api.fhir_scene import FHIR_JSON, name_the_operator, post_bundle
from tests.factories import api_as
from tests.fhir_bundles import bundle, fixture
from tests.integration.imports_scene import booking, credit, waiting_reminders

VISIT = datetime.fromisoformat("2026-03-10T08:00:00+00:00")  # appointment-booked.json's start


def notification(*resources, kind="subscription-notification"):
    """A rest-hook notification: the SubscriptionStatus first, then the changed resources (by their EHR ids)."""
    status = {
        "resourceType": "SubscriptionStatus",
        "id": "status-1",
        "status": "active",
        "type": "event-notification",
        "eventsSinceSubscriptionStart": "3",
        "subscription": {"reference": "https://ehr.example/fhir/Subscription/recall"},
        "topic": "https://ehr.example/fhir/SubscriptionTopic/appointment-changed",
    }
    body = bundle([status, *resources], "collection") | {"type": kind}
    Bundle.model_validate(body)  # what we send is what an EHR's FHIR library accepts
    return body


def send(client, clinic_id, secret, body, *, webhook_id="msg_1", at=None, signature=None):
    data = json.dumps(body)
    stamp = at or client.application.extensions["recall.clock"].now()
    signed = signature or Webhook(secret).sign(webhook_id, stamp, data)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(stamp.timestamp())), "webhook-signature": signed}
    return client.post(f"/api/v1/fhir/notify/{clinic_id}", data=data, headers=headers, content_type=FHIR_JSON)


def ehr_secret(client, cw):
    answer = api_as(client, cw, "manager").post("/clinic/integration/ehr-secret")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["ehr_secret"].startswith("whsec_")
    assert body["notify_url"].endswith(f"/api/v1/fhir/notify/{cw.clinic.id}")
    return body["ehr_secret"]


@pytest.fixture
def booked(client, database, world):
    """Clinic a's EHR imported a patient and an operator's phone booking, which planned reminders and pending
    credit; its manager issued the EHR secret."""
    operator = name_the_operator(database, world)
    sent = bundle([fixture("patient"), fixture("practitioner"), fixture("appointment-booked")])
    assert post_bundle(client, world.a.tokens["manager"], sent).status_code == 200
    made = booking(database, "APPT-103", world.a.clinic.id)
    assert waiting_reminders(database, made.id) > 0
    assert credit(database, made.id) == [("pending", operator, "operator")]
    return {"booking": made.id, "operator": operator, "secret": ehr_secret(client, world.a)}


def _appointment(**changes):
    data = fixture("appointment-booked") | changes
    data.pop("extension")  # the EHR's later versions need not say who booked it
    return data


def test_an_ehr_cancellation_stops_the_planned_reminders_and_voids_the_pending_credit(client, database, world, booked):
    cancelled = _appointment(status="cancelled", cancelationReason={"text": "patient is abroad"})
    answer = send(client, world.a.clinic.id, booked["secret"], notification(cancelled))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["replay"] is False and body["counts"] == {"ignored": 1, "updated": 1}
    assert body["entries"][1] | {} == {
        "index": 1,
        "resource_type": "Appointment",
        "ref": "APPT-103",
        "result": "updated",
        "id": booked["booking"],
        "problems": [],
    }
    gone = booking(database, "APPT-103", world.a.clinic.id)
    assert (gone.status, gone.cancel_reason) == (BookingStatus.CANCELLED, "patient is abroad")
    assert waiting_reminders(database, booked["booking"]) == 0
    operator = booked["operator"]
    assert credit(database, booked["booking"]) == [("pending", operator, "operator"), ("void", operator, "operator")]


def test_a_replayed_notification_is_acknowledged_and_does_nothing(client, database, world, booked):
    moved = _appointment(start="2026-03-12T09:00:00+01:00", end="2026-03-12T09:30:00+01:00")
    assert send(client, world.a.clinic.id, booked["secret"], notification(moved)).status_code == 200
    before = snapshot(database)
    later = _appointment(start="2026-03-13T09:00:00+01:00", end="2026-03-13T09:30:00+01:00")
    again = send(client, world.a.clinic.id, booked["secret"], notification(later))  # the same webhook-id
    assert again.status_code == 200
    assert again.get_json() | {} == {"webhook_id": "msg_1", "replay": True, "counts": {}, "entries": []}
    assert snapshot(database) == before


def test_a_move_in_the_ehr_plans_the_reminders_again_for_the_new_time(client, database, world, booked):
    def planned():
        with database.reader() as s:
            return s.scalars(
                sa.select(Reminder.send_at).where(
                    Reminder.booking_id == booked["booking"], Reminder.status == ReminderStatus.PLANNED
                )
            ).all()

    first = planned()
    moved = _appointment(start="2026-03-12T09:00:00+01:00", end="2026-03-12T09:30:00+01:00")
    answer = send(client, world.a.clinic.id, booked["secret"], notification(moved, kind="history"))
    assert answer.get_json()["counts"] == {"ignored": 1, "updated": 1}
    assert booking(database, "APPT-103", world.a.clinic.id).start_at == VISIT + timedelta(days=2)
    assert sorted(planned()) == sorted(at + timedelta(days=2) for at in first)


def test_fulfilled_in_the_ehr_earns_the_credit_and_noshow_voids_it(client, clock, database, world, booked):
    clock.set(VISIT + timedelta(minutes=40))
    answer = send(client, world.a.clinic.id, booked["secret"], notification(_appointment(status="fulfilled")))
    assert answer.get_json()["counts"] == {"ignored": 1, "updated": 1}
    operator = booked["operator"]
    assert credit(database, booked["booking"]) == [("pending", operator, "operator"), ("earned", operator, "operator")]
    # Another appointment of the patient's, missed.
    other = fixture("appointment-pending") | {"start": "2026-03-11T09:00:00+01:00", "end": "2026-03-11T09:30:00+01:00"}
    other["extension"] = fixture("appointment-booked")["extension"]
    assert send(client, world.a.clinic.id, booked["secret"], notification(other), webhook_id="msg_2").status_code == 200
    clock.set(VISIT + timedelta(days=1, hours=2))
    missed = other | {"status": "noshow"}
    answer = send(client, world.a.clinic.id, booked["secret"], notification(missed), webhook_id="msg_3")
    assert answer.get_json()["counts"] == {"ignored": 1, "updated": 1}
    second = booking(database, "APPT-102", world.a.clinic.id)
    assert second.status is BookingStatus.NO_SHOW
    assert credit(database, second.id) == [("pending", operator, "operator"), ("void", operator, "operator")]


def test_only_the_signed_clinics_rows_are_acted_on(client, database, world, booked):
    # Clinic b's EHR imported the same identifiers: its booking is its own.
    sent = bundle([fixture("patient"), fixture("practitioner"), fixture("appointment-booked") | {"extension": []}])
    post_bundle(client, world.b.tokens["manager"], sent)
    theirs = booking(database, "APPT-103", world.b.clinic.id)
    cancelled = _appointment(status="cancelled")
    assert send(client, world.a.clinic.id, booked["secret"], notification(cancelled)).status_code == 200
    assert booking(database, "APPT-103", world.a.clinic.id).status is BookingStatus.CANCELLED
    assert booking(database, "APPT-103", world.b.clinic.id).status is BookingStatus.BOOKED
    assert waiting_reminders(database, theirs.id) > 0


def test_an_unknown_patient_in_a_notification_is_reported_on_its_element_and_nothing_of_it_lands(
    client, database, world, booked
):
    stranger = fixture("appointment-pending") | {"id": "a-x", "identifier": [{"value": "A-X"}]}
    stranger["participant"] = [{"actor": {"reference": "Patient/nobody"}, "status": "accepted"}]
    answer = send(client, world.a.clinic.id, booked["secret"], notification(stranger))
    assert answer.status_code == 200
    (entry,) = [e for e in answer.get_json()["entries"] if e["resource_type"] == "Appointment"]
    assert entry["result"] == "refused" and entry["problems"][0]["path"] == "Appointment.participant"


def _sign_wrong(secret):
    return Webhook(secret).sign("msg_1", datetime.fromisoformat("2026-03-02T08:00:00+00:00"), "{}")


@pytest.mark.parametrize(
    "case",
    ["unsigned", "bad signature", "another secret", "five minutes and a second old", "from the future", "other clinic"],
)
def test_a_notification_not_signed_by_the_clinics_ehr_now_is_a_401_and_changes_nothing(
    client, clock, database, world, booked, case
):
    body = notification(_appointment(status="cancelled"))
    clinic, secret = world.a.clinic.id, booked["secret"]
    kwargs = {}
    if case == "bad signature":
        kwargs["signature"] = _sign_wrong(secret)
    elif case == "another secret":
        secret = ehr_secret(client, world.b)
    elif case == "five minutes and a second old":
        kwargs["at"] = clock.now() - timedelta(minutes=5, seconds=1)
    elif case == "from the future":
        kwargs["at"] = clock.now() + timedelta(minutes=6)
    elif case == "other clinic":
        clinic = world.b.clinic.id  # clinic b has issued no EHR secret
    with nothing_written(database):
        if case == "unsigned":
            answer = client.post(f"/api/v1/fhir/notify/{clinic}", data=json.dumps(body), content_type=FHIR_JSON)
        else:
            answer = send(client, clinic, secret, body, **kwargs)
    assert_error(answer, 401, "unauthenticated")


def test_a_new_ehr_secret_replaces_the_old_one(client, database, world, booked):
    ehr_secret(client, world.a)
    with nothing_written(database):
        answer = send(client, world.a.clinic.id, booked["secret"], notification(_appointment(status="cancelled")))
    assert answer.status_code == 401


def test_a_signed_body_that_is_not_fhir_is_a_422_naming_the_body(client, database, world, booked):
    with nothing_written(database):
        answer = send(client, world.a.clinic.id, booked["secret"], {"hello": "world"})
    assert_error(answer, 422, "validation_error")
    assert "body" in answer.get_json()["fields"]
