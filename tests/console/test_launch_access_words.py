"""The access pages' refusals beside their fields read in the language asked for, like the rest of the page."""

from __future__ import annotations

import re

import pytest

from recall.clinic.signin import LinkKind, issue_link
from recall.clinic.staff import Staff
from recall.common.actors import Actor
from tests.console.helpers import csrf_token, text

pytestmark = pytest.mark.db


def test_an_empty_email_is_refused_in_polish_beside_the_email(app):
    client = app.test_client()
    token = csrf_token(client, "/console/sign-in?lang=pl")
    answer = client.post("/console/sign-in?lang=pl", data={"csrf_token": token, "email": "", "password": "x"})
    assert answer.status_code == 422
    assert 'id="email-error" role="alert">Wpisz swój adres e-mail.<' in text(answer)


def test_a_short_password_is_refused_in_swedish_beside_the_password(app, database, clock, world):
    with database.writer() as s:
        member = s.get_one(Staff, world.a.staff["operator"].id)
        member.email = "olga@nordvik.example"
        s.commit()
        secret = issue_link(s, clock, Actor.system(world.a.clinic.id), member.id, LinkKind.INVITE).secret
    client = app.test_client()
    path = f"/console/welcome/{secret}?lang=sv"
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get(path))).group(1)
    answer = client.post(path, data={"csrf_token": token, "password": "short", "password_again": "short"})
    assert answer.status_code == 422
    assert 'id="password-error" role="alert">Använd 10 till 1000 tecken' in text(answer)
