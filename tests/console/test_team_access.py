"""Only a manager reaches the team pages, and only for their own clinic's staff: other roles get 403 on every
page and action, another clinic's staff ids 404."""

from __future__ import annotations

import pytest

from recall.clinic.staff import Staff, issue_token
from recall.common.db import Database
from tests.console.helpers import post
from tests.factories import row

pytestmark = pytest.mark.db
STAFF = "/console/office/staff/"
PAGES = [STAFF, STAFF + "?format=csv", STAFF + "crm", STAFF + "{id}/"]
ACTIONS = [
    (STAFF, {"name": "Nora", "role": "operator"}),
    (STAFF + "{id}/name", {"name": "Renamed"}),
    (STAFF + "{id}/active", {"active": "no"}),
    (STAFF + "{id}/link", {"kind": "reset"}),
    (STAFF + "{id}/tokens", {"label": "x"}),
    (STAFF + "{id}/tokens/{token}/revoke", {}),
    (STAFF + "crm/secret", {}),
    (STAFF + "crm/origins", {"frame_origins": "https://crm.example.com"}),
]


def _token(database: Database, clock, member) -> int:
    with database.writer() as s:
        return issue_token(s, clock, s.get_one(Staff, member.id), "t").token.id


@pytest.mark.parametrize("role", ["operator", "frontdesk"])
def test_other_roles_get_403_on_every_team_page_and_action(console, database, clock, world, role):
    target = world.a.staff["operator2"]
    token = _token(database, clock, target)
    client = console(role)
    for path in PAGES:
        assert client.get(path.format(id=target.id)).status_code == 403, path
    for path, data in ACTIONS:
        assert post(client, path.format(id=target.id, token=token), data).status_code == 403, path
    assert row(database, Staff, target.id).name == "operator2" and row(database, Staff, target.id).active


def test_another_clinics_staff_ids_are_not_found(console, database, clock, world):
    foreign = world.b.staff["operator"]
    token = _token(database, clock, foreign)
    client = console("manager")
    assert client.get(f"{STAFF}{foreign.id}/").status_code == 404
    for path, data in ACTIONS:
        if "{id}" in path:
            assert post(client, path.format(id=foreign.id, token=token), data).status_code == 404, path
    member = row(database, Staff, foreign.id)
    assert (member.name, member.active) == ("operator", True)


def test_signed_out_visitors_go_to_the_sign_in_page(app):
    answer = app.test_client().get(STAFF)
    assert answer.status_code == 302 and "/console/sign-in" in answer.headers["Location"]
