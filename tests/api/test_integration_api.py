"""The CRM wiring over the API: a manager rotates the launch secret (shown once, the previous one kept for the
grace period) and sets the origins that may frame the console; bad origins are 422 on the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recall.clinic.integration import GRACE, sign_launch
from tests.factories import api_as

pytestmark = pytest.mark.db


def test_a_manager_rotates_the_secret_and_it_signs_launch_links(app, clock, world):
    api = api_as(app.test_client(), world.a, "manager")
    assert api.get("/clinic/integration").get_json() == {
        "has_launch_secret": False,
        "rotated_at": None,
        "previous_valid_until": None,
        "frame_origins": [],
    }
    first = api.post("/clinic/integration/launch-secret")
    assert first.status_code == 201
    secret = first.get_json()["launch_secret"]
    params = sign_launch(secret, world.a.clinic.id, world.a.staff["operator"].id, clock.now() + timedelta(minutes=1))
    assert app.test_client().get("/console/launch", query_string=params).status_code == 302
    second = api.post("/clinic/integration/launch-secret").get_json()
    assert second["launch_secret"] != secret
    assert second["previous_valid_until"].startswith((clock.now() + GRACE).strftime("%Y-%m-%dT%H:%M"))
    assert "launch_secret" not in api.get("/clinic/integration").get_json()


def test_frame_origins_are_set_and_a_wrong_one_is_422_on_the_field(app, world):
    api = api_as(app.test_client(), world.a, "manager")
    saved = api.put("/clinic/integration/frame-origins", {"frame_origins": ["https://CRM.example.com/"]})
    assert saved.status_code == 200 and saved.get_json()["frame_origins"] == ["https://crm.example.com"]
    wrong = api.put("/clinic/integration/frame-origins", {"frame_origins": ["http://crm.example.com"]})
    assert wrong.status_code == 422 and "frame_origins" in wrong.get_json()["fields"]
    assert api.get("/clinic/integration").get_json()["frame_origins"] == ["https://crm.example.com"]
    other = api_as(app.test_client(), world.b, "manager").get("/clinic/integration").get_json()
    assert other["frame_origins"] == []
