"""Signing in: invite links set a password once, failures slow down and lock, sessions end on the server,
and every write carries a CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from recall.clinic.signin import LOCK_AFTER, LinkKind, issue_link
from recall.clinic.staff import Staff
from recall.common.actors import Actor
from tests.console.helpers import csrf_token, post, text

pytestmark = pytest.mark.db


@pytest.fixture
def invited(database, clock, world):
    """Clinic a's operator with an email and a fresh invite link."""
    with database.writer() as s:
        member = s.get_one(Staff, world.a.staff["operator"].id)
        member.email = "olga@nordvik.example"
        s.commit()
        issued = issue_link(s, clock, Actor.system(world.a.clinic.id), member.id, LinkKind.INVITE)
    return issued.secret


def _accept(client, secret, password="correct horse battery"):
    path = f"/console/welcome/{secret}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get(path))).group(1)
    return client.post(path, data={"csrf_token": token, "password": password, "password_again": password})


def test_an_invite_link_sets_the_password_once_and_signs_in(app, invited):
    client = app.test_client()
    answer = _accept(client, invited)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/desk/")
    assert client.get("/console/desk/").status_code == 200
    again = app.test_client().get(f"/console/welcome/{invited}")
    assert again.status_code == 410


def test_a_short_password_is_refused_beside_its_field(app, invited):
    answer = _accept(app.test_client(), invited, password="short")
    assert answer.status_code == 422
    assert 'id="password-error"' in text(answer) and "10" in text(answer)


def test_signing_in_with_the_password_and_out_ends_the_session_on_the_server(app, invited):
    _accept(app.test_client(), invited)
    client = app.test_client()
    token = csrf_token(client)
    answer = client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": "OLGA@nordvik.example", "password": "correct horse battery"},
    )
    assert answer.status_code == 302
    with client.session_transaction() as cookie:
        stolen = dict(cookie)
    assert post(client, "/console/sign-out").status_code == 302
    replay = app.test_client()
    with replay.session_transaction() as cookie:
        cookie.update(stolen)
    assert replay.get("/console/desk/").status_code == 302  # back to the sign-in page


def test_failures_slow_down_then_lock_and_a_reset_unlocks(app, database, clock, world, invited):
    _accept(app.test_client(), invited)
    client = app.test_client()
    statuses = []
    for _ in range(LOCK_AFTER + 1):
        token = csrf_token(client)
        answer = client.post(
            "/console/sign-in", data={"csrf_token": token, "email": "olga@nordvik.example", "password": "wrong one!!"}
        )
        statuses.append(answer.status_code)
        clock.advance(timedelta(minutes=3))  # past any slow-down, never past the lock
    assert statuses[:LOCK_AFTER] == [401] * LOCK_AFTER
    assert statuses[LOCK_AFTER] == 429
    token = csrf_token(client)
    right = {"csrf_token": token, "email": "olga@nordvik.example", "password": "correct horse battery"}
    assert client.post("/console/sign-in", data=right).status_code == 429  # locked: even the right password waits
    with database.writer() as s:
        reset = issue_link(s, clock, Actor.system(world.a.clinic.id), world.a.staff["operator"].id, LinkKind.RESET)
    assert _accept(app.test_client(), reset.secret, "a brand new password").status_code == 302


def test_a_quick_retry_after_three_failures_waits(app, clock, invited):
    _accept(app.test_client(), invited)
    client = app.test_client()
    wrong = {"email": "olga@nordvik.example", "password": "wrong one!!"}
    codes = [
        client.post("/console/sign-in", data={"csrf_token": csrf_token(client), **wrong}).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    assert "seconds" in text(client.post("/console/sign-in", data={"csrf_token": csrf_token(client), **wrong}))


def test_a_write_without_the_csrf_token_is_refused(console):
    client = console("operator")
    answer = client.post("/console/language", data={"language": "pl"})
    assert answer.status_code == 400
    assert post(client, "/console/language", {"language": "pl"}).status_code == 302


def test_the_language_chosen_is_the_consoles(console):
    client = console("operator")
    post(client, "/console/language", {"language": "ru"})
    assert 'lang="ru"' in text(client.get("/console/desk/"))


def test_pages_carry_a_strict_csp_and_safe_cookies(app, invited):
    client = app.test_client()
    page = client.get("/console/sign-in")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    answer = _accept(client, invited)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_next_never_leaves_this_server(app):
    page = app.test_client().get("/console/sign-in?next=https://evil.example/")
    assert "evil.example" not in text(page)
