"""POST /api/v1/fhir: a transaction or batch Bundle from a manager or the EHR's integration token, answered
entry by entry; and the integration token, taken only there."""

from __future__ import annotations

import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle

from recall.clinic.catalog import Provider, Service
from recall.clinic.patients import Patient
from recall.credit.ledger import CreditEntry
from recall.visits.booking import Booking, BookingStatus, Channel
from tests.api.checks import assert_error, nothing_written, snapshot
from tests.api.fhir_scene import FHIR_JSON, integration_token, name_the_operator, post_bundle
from tests.factories import Api, api_as
from tests.fhir_bundles import bundle, clinic_resources, fixture


def _statuses(answer):
    return [e["response"]["status"] for e in answer.get_json()["entry"]]


def _by_ref(database, model, clinic_id, ref):
    with database.reader() as s:
        return s.scalar(sa.select(model).where(model.clinic_id == clinic_id, model.external_ref == ref))


def test_the_fixtures_import_cleanly_and_each_entry_is_answered_like_a_fhir_transaction(client, database, world):
    operator = name_the_operator(database, world)
    sent = bundle(clinic_resources())
    answer = post_bundle(client, world.a.tokens["manager"], sent)
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == FHIR_JSON
    body = answer.get_json()
    Bundle.model_validate(body)  # a transaction-response the EHR's own FHIR library reads
    assert body["type"] == "transaction-response" and len(body["entry"]) == len(sent["entry"])
    by_id = {e["resource"]["id"]: r["response"] for e, r in zip(sent["entry"], body["entry"], strict=True)}
    assert {by_id[k]["status"] for k in ("pat-1", "pat-2", "pr-1", "pr-2", "hs-1", "appt-booked", "appt-pending")} == {
        "201 Created"
    }
    clinic = world.a.clinic.id
    booked = _by_ref(database, Booking, clinic, "APPT-103")
    assert by_id["appt-booked"]["location"] == f"Appointment/{booked.id}"
    assert (booked.status, booked.channel, booked.credited_staff_id) == (BookingStatus.BOOKED, Channel.PHONE, operator)
    with database.reader() as s:
        kinds = s.scalars(sa.select(CreditEntry.kind).where(CreditEntry.booking_id == booked.id)).all()
    assert [k.value for k in kinds] == ["pending"]
    patient = _by_ref(database, Patient, clinic, "MRN-1001")
    assert (patient.full_name, patient.phone_e164, patient.language.value) == ("Agnieszka Nowak", "+46701234567", "pl")
    assert _by_ref(database, Provider, clinic, "DOC-78").specialty == "ENT"
    assert _by_ref(database, Service, clinic, "124").follow_up_interval_days == 365
    # Proposed, and the states an appointment we never held ended in, book nothing and are no problem.
    for status in ("proposed", "arrived", "fulfilled", "cancelled", "noshow"):
        assert by_id[f"appt-{status}"]["status"] == "200 OK"
        assert _by_ref(database, Booking, clinic, fixture(f"appointment-{status}")["identifier"][0]["value"]) is None
    assert by_id["role-2"]["outcome"]["issue"][0]["severity"] == "information"
    (said,) = by_id["appt-proposed"]["outcome"]["issue"]
    assert (said["severity"], said["diagnostics"]) == ("information", "proposed: not a booking until it is booked")


def test_a_reimport_changes_nothing(client, database, world):
    name_the_operator(database, world)
    sent = bundle(clinic_resources())
    post_bundle(client, world.a.tokens["manager"], sent)
    before = snapshot(database)
    again = post_bundle(client, world.a.tokens["manager"], sent)
    assert set(_statuses(again)) == {"200 OK"}
    assert snapshot(database) == before


def test_a_changed_appointment_moves_the_booking_and_a_cancelled_one_cancels_it(client, database, world):
    token = world.a.tokens["manager"]
    post_bundle(client, token, bundle([fixture("patient"), fixture("practitioner"), fixture("appointment-pending")]))
    moved = fixture("appointment-pending") | {"start": "2026-03-17T10:00:00+01:00", "end": "2026-03-17T10:30:00+01:00"}
    answer = post_bundle(client, token, bundle([moved], "batch"))
    assert _statuses(answer) == ["200 OK"], answer.get_json()
    booking = _by_ref(database, Booking, world.a.clinic.id, "APPT-102")
    assert booking.start_at.isoformat() == "2026-03-17T09:00:00+00:00"
    cancelled = moved | {"status": "cancelled", "cancelationReason": {"text": "feeling better"}}
    assert _statuses(post_bundle(client, token, bundle([cancelled], "batch"))) == ["200 OK"]
    booking = _by_ref(database, Booking, world.a.clinic.id, "APPT-102")
    assert (booking.status, booking.cancel_reason) == (BookingStatus.CANCELLED, "feeling better")


def test_bad_entries_are_answered_with_the_element_and_reason_and_the_good_ones_land(client, database, world):
    no_phone = fixture("patient-sv") | {"telecom": []}
    bad_date = fixture("patient") | {"id": "pat-8", "identifier": [{"value": "MRN-8"}], "birthDate": "1984-13-40"}
    stranger = fixture("appointment-booked") | {"id": "a-9", "identifier": [{"value": "A-9"}]}
    stranger["participant"] = [
        {"actor": {"identifier": {"value": "MRN-NOBODY"}, "type": "Patient"}, "status": "accepted"}
    ]
    stranger.pop("extension")
    bad_phone = fixture("patient") | {
        "id": "pat-7",
        "identifier": [{"value": "MRN-7"}],
        "telecom": [{"system": "phone", "value": "12"}],
    }
    sent = bundle([no_phone, fixture("patient"), bad_date, stranger, bad_phone], "batch")
    answer = post_bundle(client, world.a.tokens["manager"], sent)
    assert answer.status_code == 200
    body = answer.get_json()
    Bundle.model_validate(body)
    assert body["type"] == "batch-response"
    responses = [e["response"] for e in body["entry"]]
    assert [r["status"] for r in responses] == [
        "422 Unprocessable Entity",
        "201 Created",
        "400 Bad Request",
        "422 Unprocessable Entity",
        "422 Unprocessable Entity",
    ]
    issue = [r.get("outcome", {}).get("issue", [{}])[0] for r in responses]
    assert issue[0]["expression"] == ["Patient.telecom"]
    assert issue[2]["expression"] == ["Patient.birthDate"]
    assert issue[3]["expression"] == ["Appointment.participant"] and "MRN-NOBODY" in issue[3]["diagnostics"]
    assert issue[4]["expression"] == ["Patient.telecom"]
    clinic = world.a.clinic.id
    assert _by_ref(database, Patient, clinic, "MRN-1001") is not None
    assert all(_by_ref(database, Patient, clinic, ref) is None for ref in ("MRN-1002", "MRN-8", "MRN-7"))


def test_a_bundle_that_is_not_a_transaction_or_batch_is_a_422_naming_the_body(client, database, world):
    with nothing_written(database):
        answer = post_bundle(client, world.a.tokens["manager"], bundle([fixture("patient")], "collection"))
    assert_error(answer, 422, "validation_error")
    assert "transaction or batch" in answer.get_json()["fields"]["body"][0]


def test_an_operator_or_the_front_desk_may_not_post_a_bundle(client, database, world):
    for who in ("operator", "frontdesk"):
        with nothing_written(database):
            assert post_bundle(client, world.a.tokens[who], bundle([fixture("patient")], "batch")).status_code == 403


def test_an_integration_token_posts_bundles_for_its_clinic_and_nothing_else(client, database, world):
    token = integration_token(client, world)
    assert token.startswith("rci_")
    answer = post_bundle(client, token, bundle([fixture("patient")], "batch"))
    assert _statuses(answer) == ["201 Created"]
    assert _by_ref(database, Patient, world.a.clinic.id, "MRN-1001") is not None
    assert _by_ref(database, Patient, world.b.clinic.id, "MRN-1001") is None
    ehr = Api(client, token)
    for method, url in (
        ("GET", "/me"),
        ("GET", "/patients"),
        ("POST", "/clinic/integration/tokens"),
        ("GET", "/ledger"),
    ):
        with nothing_written(database):
            refused = ehr._call(method, url, json={} if method == "POST" else None)
        assert_error(refused, 403, "forbidden")
        assert "only by the FHIR endpoints" in refused.get_json()["message"]


def test_a_revoked_or_unknown_integration_token_is_401(client, database, world):
    token = integration_token(client, world)
    manager = api_as(client, world.a, "manager")
    (listed,) = manager.get("/clinic/integration/tokens").get_json()
    assert listed["hint"] == token[:10] and "token" not in listed
    assert manager.delete(f"/clinic/integration/tokens/{listed['id']}").get_json()["revoked_at"] is not None
    for secret in (token, "rci_" + "x" * 43):
        with nothing_written(database):
            assert_error(post_bundle(client, secret, bundle([fixture("patient")], "batch")), 401, "unauthenticated")
            assert_error(Api(client, secret).get("/me"), 401, "unauthenticated")


def test_a_manager_revokes_only_their_own_clinics_integration_tokens(client, database, world):
    integration_token(client, world)
    (mine,) = api_as(client, world.a, "manager").get("/clinic/integration/tokens").get_json()
    other = api_as(client, world.b, "manager")
    assert other.get("/clinic/integration/tokens").get_json() == []
    assert_error(other.delete(f"/clinic/integration/tokens/{mine['id']}"), 404, "not_found")
