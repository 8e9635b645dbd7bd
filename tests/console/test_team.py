"""The manager's team pages: the staff list and its CSV, adding a member, renaming, deactivating, and the invite
or reset links, each doing what the API's staff endpoints do, with errors beside their fields."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from recall.clinic.staff import Staff
from tests.console.helpers import error_beside, post, text
from tests.factories import row

pytestmark = pytest.mark.db
STAFF = "/console/office/staff/"


def test_the_staff_list_shows_the_clinics_own_members_and_downloads_as_csv(console, world):
    page = console("manager").get(STAFF)
    assert page.status_code == 200
    for member in world.a.staff.values():
        assert f"{STAFF}{member.id}/" in text(page)
    assert f"{STAFF}{world.b.staff['operator'].id}/" not in text(page)
    download = console("manager").get(STAFF + "?format=csv&role=operator")
    assert download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(download).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Id", "Name", "Email", "Role"]
    assert sorted(r[1] for r in rows[1:]) == ["operator", "operator2"]
    assert {r[3] for r in rows[1:]} == {"operator"}


def test_adding_a_member_creates_them_as_the_api_does(console, database, world):
    client = console("manager")
    answer = post(client, STAFF, {"name": "  Nora Lind ", "role": "operator", "email": "nora@nordvik.example"})
    assert answer.status_code == 303
    with database.reader() as s:
        added = s.scalars(sa.select(Staff).where(Staff.email == "nora@nordvik.example")).one()
    assert (added.name, added.role.value, added.active) == ("Nora Lind", "operator", True)
    assert added.clinic_id == world.a.clinic.id
    assert answer.headers["Location"].endswith(f"{STAFF}{added.id}/?added=1")
    assert "Nora Lind is added" in text(client.get(answer.headers["Location"]))


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "role": "operator"}, "name"),
        ({"name": "Nora", "role": "system"}, "role"),
        ({"name": "Nora", "role": ""}, "role"),
        ({"name": "Nora", "role": "operator", "email": "not an email"}, "email"),
        ({"name": "x" * 201, "role": "operator"}, "name"),
    ],
)
def test_a_wrong_new_member_is_refused_beside_the_field(console, database, form, field):
    answer = post(console("manager"), STAFF, form)
    assert answer.status_code == 422
    assert error_beside(answer, field)
    with database.reader() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Staff).where(Staff.name == "Nora")) == 0


def test_an_email_already_used_in_the_clinic_is_refused_beside_the_email(console, database, world):
    client = console("manager")
    post(client, STAFF, {"name": "Nora", "role": "operator", "email": "nora@nordvik.example"})
    again = post(client, STAFF, {"name": "Nora Two", "role": "frontdesk", "email": "nora@nordvik.example"})
    assert again.status_code == 409
    assert "has this email" in error_beside(again, "email")
    assert 'value="Nora Two"' in text(again)  # the form keeps what was typed


def test_renaming_a_member_and_an_empty_name_beside_the_field(console, database, world):
    member = world.a.staff["operator"]
    client = console("manager")
    assert post(client, f"{STAFF}{member.id}/name", {"name": "Olga Berg"}).status_code == 303
    assert row(database, Staff, member.id).name == "Olga Berg"
    assert "Saved." in text(client.get(f"{STAFF}{member.id}/?saved=name"))
    wrong = post(client, f"{STAFF}{member.id}/name", {"name": "   "})
    assert wrong.status_code == 422 and error_beside(wrong, "name")
    assert row(database, Staff, member.id).name == "Olga Berg"


def test_deactivating_ends_the_members_console_and_reactivating_brings_it_back(console, database, world):
    member = world.a.staff["operator"]
    operator = console("operator")
    assert operator.get("/console/desk/").status_code == 200
    manager = console("manager")
    assert post(manager, f"{STAFF}{member.id}/active", {"active": "no"}).status_code == 303
    assert row(database, Staff, member.id).active is False
    assert operator.get("/console/desk/").status_code == 302  # signed out
    assert post(manager, f"{STAFF}{member.id}/active", {"active": "yes"}).status_code == 303
    assert row(database, Staff, member.id).active is True


def test_a_manager_cannot_deactivate_themselves(console, database, world):
    me = world.a.staff["manager"]
    answer = post(console("manager"), f"{STAFF}{me.id}/active", {"active": "no"})
    assert answer.status_code == 422 and "yourself" in error_beside(answer, "active")
    assert row(database, Staff, me.id).active is True


def test_an_invite_link_is_shown_once_and_sets_the_password(app, console, database, world):
    client = console("manager")
    added = post(client, STAFF, {"name": "Nora", "role": "frontdesk", "email": "nora@nordvik.example"})
    path = added.headers["Location"].split("?")[0]
    answer = post(client, path + "link", {"kind": "invite"})
    assert answer.status_code == 200
    link = re.search(r'id="issued-link"[^>]*value="([^"]+)"', text(answer)).group(1)
    assert "/console/welcome/" in link
    assert link not in text(client.get(path))  # shown only that once
    welcome = app.test_client().get(link.split("localhost", 1)[1])
    assert welcome.status_code == 200 and "Welcome, Nora" in text(welcome)


def test_a_member_without_an_email_gets_no_link_and_the_reason_is_beside_it(console, world):
    member = world.a.staff["operator2"]  # the world's staff have no email
    answer = post(console("manager"), f"{STAFF}{member.id}/link", {"kind": "invite"})
    assert answer.status_code == 422 and "email" in error_beside(answer, "link")
    assert 'id="issued-link"' not in text(answer)
