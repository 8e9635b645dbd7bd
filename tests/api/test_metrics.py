"""/metrics: the Prometheus text format, for the metrics token or an allowed address only, with the requests
counted by route template and the queue's depth by clinic and state, and nothing about a patient."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from tests.factories import api_as, make_task

TOKEN = "metrics-token-for-the-test-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _requests(samples, route: str, status: str) -> float:
    return samples.get(("recall_http_requests_total", (("method", "GET"), ("route", route), ("status", status))), 0.0)


def test_a_scrape_without_the_token_or_an_allowed_address_is_refused(app, client):
    app.config.update(METRICS_TOKEN=TOKEN, METRICS_ALLOW="")
    refused = client.get("/metrics")
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    app.config.update(METRICS_TOKEN="")
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403  # none configured


def test_an_allowed_address_may_scrape_without_the_token(app, client):
    app.config.update(METRICS_TOKEN="", METRICS_ALLOW="10.0.0.0/8, 127.0.0.1")
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    app.config.update(METRICS_ALLOW="10.0.0.0/8")
    assert client.get("/metrics").status_code == 403


def test_requests_are_counted_by_route_template_and_the_queue_by_clinic_and_state(app, client, world, database, clock):
    app.config.update(METRICS_TOKEN=TOKEN)
    scrape = {"Authorization": f"Bearer {TOKEN}"}
    make_task(database, clock, world.a.clinic.id, world.a.patients[0].id, due_at=clock.now() - timedelta(hours=1))
    make_task(database, clock, world.a.clinic.id, world.a.patients[1].id, due_at=clock.now() + timedelta(days=2))
    make_task(database, clock, world.b.clinic.id, world.b.patients[0].id, leased_to=world.b.staff["operator"].id)
    before = _samples(client.get("/metrics", headers=scrape).get_data(as_text=True))
    api = api_as(client, world.a, "manager")
    patient = world.a.patients[0]
    for _ in range(3):
        assert api.get(f"/patients/{patient.id}").status_code == 200
    assert api.get("/patients/424242").status_code == 404
    answer = client.get("/metrics", headers=scrape)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    text = answer.get_data(as_text=True)
    after = _samples(text)
    route = "/api/v1/patients/<int:patient_id>"
    assert _requests(after, route, "200") - _requests(before, route, "200") == 3
    assert _requests(after, route, "404") - _requests(before, route, "404") == 1
    assert ("recall_http_request_duration_seconds_count", (("method", "GET"), ("route", route))) in after
    a, b = str(world.a.clinic.id), str(world.b.clinic.id)
    assert after[("recall_queue_tasks", (("clinic", a), ("state", "due")))] == 1
    assert after[("recall_queue_tasks", (("clinic", a), ("state", "not_yet_due")))] == 1
    assert after[("recall_queue_tasks", (("clinic", b), ("state", "leased")))] == 1
    clock.set(clock.now() + timedelta(hours=1))  # the 15-minute lease ran out
    lapsed = _samples(client.get("/metrics", headers=scrape).get_data(as_text=True))
    assert lapsed[("recall_queue_leases_lapsed", (("clinic", b),))] == 1
    for secret in (patient.full_name, patient.phone_e164, f"/patients/{patient.id}", "424242"):
        assert secret not in text
