"""Who may open what in the console: a walk over every console route in ``app.url_map``, for every role and for
a member of the other clinic, like the API's access test.

Every route is either public (signing in, an invite link, a launch link, the assets) or guarded by ``@page``
with the roles it admits. From the roles each view declares: signed out, a page sends you to the sign-in page
(a state change is refused) and nothing is written; a role outside the list gets a 403 and nothing is written;
a role inside it gets its answer (never a 5xx, whatever the form lacks); and a member of the other clinic, in
an admitted role, naming this clinic's ids, gets a 404 and nothing is written. A new route whose path names an
id this walk cannot fill fails, until it is given one in ``IDS``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from werkzeug.routing import Rule

from recall.common.actors import Role
from tests.api.checks import nothing_written
from tests.api.scene import ClinicScene, build_scene
from tests.console.helpers import csrf_token, sign_in_as

PUBLIC = {
    "access.front_door",
    "access.sign_in",
    "access.set_password",
    "access.sign_out_page",  # signing out needs no role: signed out already, it only clears the cookie
    "access.launch_page",  # a CRM's signed link: its signature is the check (tests/console/test_launch.py)
    "console_static.static",
}
WHO = {Role.OPERATOR: "operator", Role.FRONTDESK: "frontdesk", Role.MANAGER: "manager"}
#: How to fill each id a console path names, from the clinic's scene (the API's access test's).
IDS: dict[str, Callable[[ClinicScene], int]] = {
    "patient_id": lambda s: s.patient,
    "task_id": lambda s: s.task,
    "visit_id": lambda s: s.visit,
    "booking_id": lambda s: s.desk_booking,
    "staff_id": lambda s: s.staff["operator"],
    "member_id": lambda s: s.staff["operator"],
    "token_id": lambda s: s.tokens["operator"],
    "call_id": lambda s: s.call,
    "reminder_id": lambda s: s.call,
    "provider_id": lambda s: s.provider,
    "service_id": lambda s: s.service,
}
TEXT_ARGUMENTS = {"token": "not-a-real-link", "filename": "console.css", "name": "queue"}


def _console_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/console")),
        key=lambda r: r.rule,
    )


def _roles(app: Flask, rule: Rule) -> tuple[Role, ...] | None:
    return getattr(app.view_functions[rule.endpoint], "_console_roles", None)


def _path(rule: Rule, scene: ClinicScene) -> str:
    values: dict[str, object] = {}
    for name in rule.arguments:
        if name in IDS:
            values[name] = IDS[name](scene)
        elif name in TEXT_ARGUMENTS:
            values[name] = TEXT_ARGUMENTS[name]
        else:
            raise AssertionError(f"{rule.rule}: give the argument {name!r} a value in IDS or TEXT_ARGUMENTS")
    path = rule.build(values, append_unknown=False)
    assert path is not None
    return path[1]


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _request(client, method: str, path: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    token = csrf_token(client, "/console/sign-in")
    return client.open(path, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})


@pytest.fixture
def walk(app, database, clock, world):  # type: ignore[no-untyped-def]
    scene = build_scene(database, clock, world)
    guarded = [r for r in _console_rules(app) if r.endpoint not in PUBLIC]
    return scene, guarded


def test_every_console_route_is_public_by_name_or_says_which_roles_it_admits(app):
    rules = _console_rules(app)
    assert len(rules) > 10
    unguarded = [r.rule for r in rules if r.endpoint not in PUBLIC and not _roles(app, r)]
    assert unguarded == [], "console routes without @page(roles): guard them, or name them in PUBLIC"


def test_signed_out_a_page_sends_to_sign_in_and_a_change_is_refused(app, database, walk):
    scene, guarded = walk
    client = app.test_client()
    for rule in guarded:
        for method in _methods(rule):
            path = _path(rule, scene.a)
            with nothing_written(database):
                response = _request(client, method, path)
            if method == "GET":
                assert response.status_code == 302 and "/console/sign-in" in response.location, (method, path)
            else:
                assert response.status_code in (302, 401), (method, path, response.status_code)


def test_a_role_a_page_does_not_admit_gets_403_and_nothing_changes(app, database, clock, walk):
    scene, guarded = walk
    for role, name in WHO.items():
        client = sign_in_as(app.test_client(), database, clock, scene.a.world.staff[name])
        for rule in guarded:
            if role in (_roles(app, rule) or ()):
                continue
            for method in _methods(rule):
                path = _path(rule, scene.a)
                with nothing_written(database):
                    response = _request(client, method, path)
                assert response.status_code == 403, (name, method, path, response.status_code)


def test_a_role_a_page_admits_gets_its_answer_and_no_input_makes_a_500(app, database, clock, walk):
    scene, guarded = walk
    for role, name in WHO.items():
        client = sign_in_as(app.test_client(), database, clock, scene.a.world.staff[name])
        for rule in guarded:
            if role not in (_roles(app, rule) or ()):
                continue
            for method in _methods(rule):
                path = _path(rule, scene.a)
                response = _request(client, method, path)
                assert response.status_code < 500, (name, method, path, response.status_code)
                assert response.status_code not in (401, 403), (name, method, path, response.status_code)


def test_the_other_clinics_member_naming_this_clinics_ids_gets_404_and_nothing_changes(app, database, clock, walk):
    scene, guarded = walk
    checked = 0
    for role, name in WHO.items():
        stranger = sign_in_as(app.test_client(), database, clock, scene.b.world.staff[name])
        for rule in guarded:
            if role not in (_roles(app, rule) or ()) or not set(rule.arguments) & set(IDS):
                continue
            for method in _methods(rule):
                path = _path(rule, scene.a)
                with nothing_written(database):
                    response = _request(stranger, method, path)
                assert response.status_code == 404, (name, method, path, response.status_code)
                checked += 1
    assert checked or not any(set(r.arguments) & set(IDS) for r in guarded)
