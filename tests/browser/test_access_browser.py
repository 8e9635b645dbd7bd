"""Access through a real browser: a CRM's launch link opens the console signed in as its member, and a manager
adds a member, issues the invite link, and the new member sets a password with it and is signed in."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from recall.clinic.integration import rotate_launch_secret, sign_launch
from recall.common.actors import Actor


def test_a_crm_launch_link_opens_the_console_as_its_member(live, page, shot):
    with live.database.writer() as s:
        secret = rotate_launch_secret(s, live.clock, Actor.system(live.world.a.clinic.id))
    member = live.world.a.staff["operator"]
    params = sign_launch(secret, live.world.a.clinic.id, member.id, live.clock.now() + timedelta(minutes=2))
    link = f"{live.url}/console/launch?{urlencode(params)}"

    page.goto(link)
    page.wait_for_url(re.compile(r"/console/desk/$"))
    assert page.locator(".who .me").inner_text() == "operator"
    shot(page, "desk-after-launch")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/sign-in"))
    shot(page, "signed-out")
    page.goto(link)  # the same link again: used once
    assert page.get_by_role("heading", name="This link does not open the console").is_visible()
    assert page.locator(".who").count() == 0
    shot(page, "launch-link-used-again")


def test_a_manager_invites_a_new_member_whose_link_sets_a_password(live, page, shot):
    live.sign_in(page, "manager")
    page.get_by_role("link", name="Staff", exact=True).first.click()
    page.wait_for_url(re.compile(r"/console/office/staff/$"))
    shot(page, "staff-list")

    page.get_by_label("Name").fill("Nora Lind")
    page.locator("#f-role").select_option("operator")
    page.get_by_label("Email (to sign in with)").fill("not an email")
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.locator("#email-error").is_visible()
    shot(page, "add-member-wrong-email")
    page.get_by_label("Email (to sign in with)").fill("nora@nordvik.example")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(re.compile(r"/console/office/staff/\d+/\?added=1$"))
    shot(page, "member-added")

    page.get_by_role("button", name="Issue an invite link").click()
    link = page.get_by_label("Invite link").input_value()
    assert "/console/welcome/" in link
    shot(page, "invite-link-shown")
    page.set_viewport_size({"width": 768, "height": 1024})
    shot(page, "invite-link-on-a-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/sign-in"))
    page.goto(link)
    assert page.get_by_role("heading", name="Welcome, Nora Lind").is_visible()
    shot(page, "invitee-welcome")
    page.get_by_label("New password").fill("correct horse battery")
    page.get_by_label("The same password again").fill("correct horse battery")
    page.get_by_role("button", name="Save and sign in").click()
    page.wait_for_url(re.compile(r"/console/desk/$"))
    assert page.locator(".who .me").inner_text() == "Nora Lind"
    shot(page, "invitee-signed-in")


def test_a_manager_rotates_the_launch_secret_and_lists_the_crms_origin(live, page, shot):
    live.sign_in(page, "manager")
    page.goto(f"{live.url}/console/office/staff/crm")
    shot(page, "crm-page")
    page.get_by_role("button", name="Create a secret").click()
    secret = page.get_by_label("New launch secret").input_value()
    assert len(secret) >= 40
    shot(page, "crm-secret-shown")

    field = page.get_by_label(re.compile("Allowed origins"))
    field.fill("http://crm.example.com/embed")
    page.get_by_role("button", name="Save the origins").click()
    assert "http://crm.example.com/embed" in page.locator("#frame_origins-error").inner_text()
    shot(page, "crm-origin-refused")
    page.get_by_label(re.compile("Allowed origins")).fill("https://crm.example.com")
    with page.expect_response(re.compile(r"/crm/origins$")) as answer:
        page.get_by_role("button", name="Save the origins").click()
    assert "frame-ancestors https://crm.example.com" in answer.value.headers["content-security-policy"]
    shot(page, "crm-origin-saved")

    # the secret shown is the one the clinic's links are now checked with
    expires = live.clock.now() + timedelta(minutes=1)
    params = sign_launch(secret, live.world.a.clinic.id, live.world.a.staff["frontdesk"].id, expires)
    page.goto(f"{live.url}/console/launch?{urlencode(params)}")
    page.wait_for_url(re.compile(r"/console/front-desk/$"))
    assert page.locator(".who .me").inner_text() == "frontdesk"
    shot(page, "front-desk-after-launch")
