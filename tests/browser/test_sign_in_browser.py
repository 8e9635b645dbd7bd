"""Signing in through a real browser: an invite link sets the password, the password signs in, sign-out ends
the session, and the pages load every asset from this server under the console's CSP."""

from __future__ import annotations

import re

from recall.clinic.signin import LinkKind, issue_link
from recall.clinic.staff import Staff
from recall.common.actors import Actor


def test_a_new_operator_sets_a_password_from_the_invite_and_signs_in_with_it(live, page, shot):
    with live.database.writer() as s:
        member = s.get_one(Staff, live.world.a.staff["operator"].id)
        member.email = "olga@nordvik.example"
        s.commit()
        link = issue_link(s, live.clock, Actor.system(live.world.a.clinic.id), member.id, LinkKind.INVITE)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{live.url}/console/welcome/{link.secret}")
    shot(page, "welcome")
    page.get_by_label("New password").fill("short")
    page.get_by_label("The same password again").fill("short")
    page.get_by_role("button", name="Save and sign in").click()
    assert page.locator("#password-error").is_visible()
    shot(page, "password-too-short")
    page.get_by_label("New password").fill("correct horse battery")
    page.get_by_label("The same password again").fill("correct horse battery")
    page.get_by_role("button", name="Save and sign in").click()
    page.wait_for_url(re.compile(r"/console/desk/$"))
    shot(page, "desk-after-invite")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Email").fill("olga@nordvik.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert "wrong" in page.locator(".form-error").inner_text()
    shot(page, "sign-in-wrong-password")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/desk/$"))
    assert all(url.startswith(live.url) for url in requests), "every asset comes from this server"


def test_the_console_speaks_the_language_its_member_picks(live, page, shot):
    live.sign_in(page, "frontdesk")
    with page.expect_navigation():
        page.get_by_label("Language").select_option("pl")
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.get_by_role("button", name="Wyloguj").is_visible()
    shot(page, "polish")
