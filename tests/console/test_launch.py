"""CRM launch links: a signed, short-lived link opens the console once for one staff member of the clinic, and
every bad link gets the same 403; the console may be framed only by the clinic's listed origins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recall.clinic.integration import GRACE, rotate_launch_secret, set_frame_origins, sign_launch
from recall.clinic.signin import ConsoleSession
from recall.clinic.staff import Staff
from recall.common.actors import Actor
from tests.console.helpers import text

pytestmark = pytest.mark.db


@pytest.fixture
def secret(database, clock, world):
    """Clinic a's launch secret, rotated in by the system."""
    with database.writer() as s:
        return rotate_launch_secret(s, clock, Actor.system(world.a.clinic.id))


def _link(clock, secret, clinic, member, *, lives=timedelta(minutes=1), nonce=None):
    params = sign_launch(secret, clinic.id, member.id, clock.now() + lives, nonce)
    return "/console/launch?" + "&".join(f"{k}={v}" for k, v in params.items())


def _refused(app, link):
    """The link gets the plain 403 page, and the browser is not signed in."""
    client = app.test_client()
    answer = client.get(link)
    assert answer.status_code == 403, answer.status_code
    assert "This link does not open the console" in text(answer)
    assert client.get("/console/desk/").status_code == 302  # to the sign-in page


def test_a_launch_link_signs_the_member_in_once_and_goes_to_their_home(app, database, clock, world, secret):
    link = _link(clock, secret, world.a.clinic, world.a.staff["frontdesk"])
    client = app.test_client()
    answer = client.get(link)
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/front-desk/"
    home = client.get("/console/front-desk/")
    assert home.status_code == 200 and 'class="me">frontdesk<' in text(home)
    with database.reader() as s:
        via = s.query(ConsoleSession.via).filter_by(staff_id=world.a.staff["frontdesk"].id).all()
    assert [row.via for row in via] == ["launch"]
    _refused(app, link)  # the same link again


def test_a_link_with_a_wrong_signature_is_refused(app, clock, world, secret):
    link = _link(clock, secret, world.a.clinic, world.a.staff["operator"])
    tampered = link.replace(f"staff={world.a.staff['operator'].id}", f"staff={world.a.staff['manager'].id}")
    _refused(app, tampered)
    _refused(app, _link(clock, "not the secret", world.a.clinic, world.a.staff["operator"]))


def test_an_expired_link_and_one_that_lives_too_long_are_refused(app, clock, world, secret):
    member = world.a.staff["operator"]
    link = _link(clock, secret, world.a.clinic, member)
    clock.advance(timedelta(minutes=1, seconds=1))
    _refused(app, link)
    _refused(app, _link(clock, secret, world.a.clinic, member, lives=timedelta(minutes=10)))


def test_a_link_for_another_clinics_staff_member_is_refused(app, database, clock, world, secret):
    # signed with clinic a's secret, naming clinic b's operator under clinic a
    _refused(app, _link(clock, secret, world.a.clinic, world.b.staff["operator"]))
    with database.writer() as s:
        b_secret = rotate_launch_secret(s, clock, Actor.system(world.b.clinic.id))
    # clinic b's secret cannot open clinic a's member either
    _refused(app, _link(clock, b_secret, world.a.clinic, world.a.staff["operator"]))


def test_a_link_for_a_deactivated_member_is_refused(app, database, clock, world, secret):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["operator"].id).active = False
        s.commit()
    _refused(app, _link(clock, secret, world.a.clinic, world.a.staff["operator"]))


def test_the_previous_secret_works_for_the_grace_period_only(app, database, clock, world, secret):
    member = world.a.staff["operator"]
    with database.writer() as s:
        newer = rotate_launch_secret(s, clock, Actor.system(world.a.clinic.id))
    assert app.test_client().get(_link(clock, secret, world.a.clinic, member)).status_code == 302
    assert app.test_client().get(_link(clock, newer, world.a.clinic, member)).status_code == 302
    clock.advance(GRACE + timedelta(seconds=1))
    _refused(app, _link(clock, secret, world.a.clinic, member))
    assert app.test_client().get(_link(clock, newer, world.a.clinic, member)).status_code == 302


def test_a_clinic_without_a_secret_and_malformed_links_are_refused(app, clock, world):
    _refused(app, _link(clock, "anything", world.a.clinic, world.a.staff["operator"]))
    for query in ("", "clinic=x&staff=1", "clinic=99999999999999&staff=1&expires=1&nonce=a&sig=b", "clinic=-1"):
        _refused(app, f"/console/launch?{query}")


def test_the_console_may_be_framed_only_by_the_clinics_origins(app, database, clock, world, secret, console):
    with database.writer() as s:
        set_frame_origins(s, Actor.system(world.a.clinic.id), "https://crm.example.com https://crm2.example.com:8443")
    answer = app.test_client().get(_link(clock, secret, world.a.clinic, world.a.staff["operator"]))
    csp = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors https://crm.example.com https://crm2.example.com:8443" in csp
    page = console("operator").get("/console/desk/")
    assert (
        "frame-ancestors https://crm.example.com https://crm2.example.com:8443"
        in page.headers["Content-Security-Policy"]
    )
    other = console("operator", clinic="b").get("/console/desk/")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
