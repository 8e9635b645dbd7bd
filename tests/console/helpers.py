"""Signing in to the console from the test client, and reading its pages."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from recall.clinic.signin import SessionVia, open_session
from recall.clinic.staff import Staff
from recall.common.clock import Clock
from recall.common.db import Database
from recall.web.console.pages import SESSION_KEY

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def sign_in_as(client: FlaskClient, db: Database, clock: Clock, member: Staff) -> FlaskClient:
    """A session for ``member`` as a launch would open it (no password hashing: fast), set as the cookie."""
    with db.writer() as s:
        signed = open_session(s, clock, s.get_one(Staff, member.id), SessionVia.LAUNCH)
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = signed.secret
    return client


def csrf_token(client: FlaskClient, path: str = "/console/sign-in") -> str:
    """The CSRF token a page of the console carries (in its meta tag)."""
    page = client.get(path, follow_redirects=True)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, *, fetch: bool = False) -> TestResponse:
    """A form post with the session's CSRF token, as a browser sends it (``fetch``: as console.js does)."""
    token = csrf_token(client)
    headers = {"X-Requested-With": "fetch", "X-CSRFToken": token} if fetch else {}
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def error_beside(response: TestResponse, field: str) -> str:
    """The message the page shows beside ``field`` (its ``<field>-error`` alert)."""
    found = re.search(rf'id="{field}-error" role="alert">([^<]*)<', text(response))
    assert found, f"no message beside {field}"
    return found.group(1)
