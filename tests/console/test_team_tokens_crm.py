"""API tokens issued and revoked from a member's page work as the API's do, and the CRM page rotates the launch
secret (shown once, and it signs working links) and sets the origins that may frame the console."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recall.clinic.integration import frame_origins, sign_launch
from recall.clinic.staff import ApiToken, hash_token
from tests.console.helpers import error_beside, post, text

pytestmark = pytest.mark.db
STAFF = "/console/office/staff/"
CRM = "/console/office/staff/crm"


def _shown(answer, ident):
    return re.search(rf'id="{ident}"[^>]*value="([^"]+)"', text(answer)).group(1)


def test_an_issued_token_is_shown_once_works_on_the_api_and_stops_when_revoked(app, console, database, world):
    member = world.a.staff["operator2"]
    client = console("manager")
    answer = post(client, f"{STAFF}{member.id}/tokens", {"label": "dialer"})
    assert answer.status_code == 200
    token = _shown(answer, "issued-token")
    assert token.startswith("rcl_") and token not in text(client.get(f"{STAFF}{member.id}/"))
    api = app.test_client()
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["id"] == member.id
    with database.reader() as s:
        token_id = s.scalar(sa.select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    assert f"{STAFF}{member.id}/tokens/{token_id}/revoke" in text(answer)
    assert post(client, f"{STAFF}{member.id}/tokens/{token_id}/revoke").status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_label_too_long_is_refused_beside_the_label(console, world):
    answer = post(console("manager"), f"{STAFF}{world.a.staff['operator'].id}/tokens", {"label": "x" * 101})
    assert answer.status_code == 422 and error_beside(answer, "label")
    assert 'id="issued-token"' not in text(answer)


def test_another_members_token_id_is_not_found(console, world):
    client = console("manager")
    answer = post(client, f"{STAFF}{world.a.staff['operator'].id}/tokens", {"label": ""})
    token_id = re.search(r"/tokens/(\d+)/revoke", text(answer)).group(1)
    other = post(client, f"{STAFF}{world.a.staff['operator2'].id}/tokens/{token_id}/revoke")
    assert other.status_code == 404


def test_rotating_shows_the_secret_once_and_it_signs_a_working_launch_link(app, console, clock, world):
    client = console("manager")
    assert "none yet" in text(client.get(CRM))
    answer = post(client, f"{CRM}/secret")
    assert answer.status_code == 200
    secret = _shown(answer, "launch-secret")
    assert secret not in text(client.get(CRM))
    params = sign_launch(secret, world.a.clinic.id, world.a.staff["operator"].id, clock.now() + timedelta(minutes=1))
    launched = app.test_client().get("/console/launch", query_string=params)
    assert launched.status_code == 302 and launched.headers["Location"] == "/console/desk/"
    again = post(client, f"{CRM}/secret")
    assert _shown(again, "launch-secret") != secret and "still works until" in text(again)


def test_the_frame_origins_are_saved_and_sent_as_frame_ancestors(console, database, world):
    client = console("manager")
    saved = post(client, f"{CRM}/origins", {"frame_origins": "https://crm.example.com\nhttps://crm.example.com:8443"})
    assert saved.status_code == 303 and "saved=origins" in saved.headers["Location"]
    with database.reader() as s:
        assert frame_origins(s, world.a.clinic.id) == ["https://crm.example.com", "https://crm.example.com:8443"]
    header = client.get(CRM).headers["Content-Security-Policy"]
    assert "frame-ancestors https://crm.example.com https://crm.example.com:8443" in header


def test_a_wrong_origin_is_refused_beside_the_field_and_nothing_changes(console, database, world):
    client = console("manager")
    post(client, f"{CRM}/origins", {"frame_origins": "https://crm.example.com"})
    wrong = post(client, f"{CRM}/origins", {"frame_origins": "https://ok.example.com\nhttp://crm.example.com/x"})
    assert wrong.status_code == 422
    assert "http://crm.example.com/x" in error_beside(wrong, "frame_origins")
    assert "https://ok.example.com" in text(wrong)  # what was typed stays in the field
    with database.reader() as s:
        assert frame_origins(s, world.a.clinic.id) == ["https://crm.example.com"]
