"""Standard Webhooks signatures on the EHR's notifications, checked against the clock recall is given."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from integrations.fhir.signing import SignatureRefused, sign, verify

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BODY = b'{"resourceType": "Bundle", "type": "history", "entry": []}'


def _headers(**changes):
    return sign(SECRET, "msg_1", NOW, BODY) | changes


def test_a_body_signed_with_the_secret_within_five_minutes_is_the_ehrs():
    assert verify(SECRET, _headers(), BODY, NOW + timedelta(minutes=5)) == "msg_1"
    assert _headers()["webhook-signature"] == Webhook(SECRET).sign("msg_1", NOW, BODY.decode())


def test_any_one_of_several_signatures_may_match_and_unknown_versions_or_junk_are_skipped():
    good = _headers()["webhook-signature"]
    assert verify(SECRET, _headers(**{"webhook-signature": f"v2,abc v1,!!! {good}"}), BODY, NOW) == "msg_1"


@pytest.mark.parametrize(
    ("headers", "body", "at", "why"),
    [
        ({"webhook-signature": ""}, BODY, NOW, "are required"),
        ({}, BODY + b" ", NOW, "no webhook-signature matches"),
        ({"webhook-id": "msg_2"}, BODY, NOW, "no webhook-signature matches"),
        ({}, BODY, NOW + timedelta(minutes=5, seconds=1), "more than 5 minutes"),
        ({}, BODY, NOW - timedelta(minutes=5, seconds=1), "more than 5 minutes"),
        ({"webhook-timestamp": "1e9"}, BODY, NOW, "not a Unix time"),
        ({"webhook-id": "x" * 201}, BODY, NOW, "longer than 200"),
        ({}, b"\xff", NOW, "not UTF-8"),
    ],
)
def test_anything_else_is_refused_saying_why(headers, body, at, why):
    with pytest.raises(SignatureRefused, match=why):
        verify(SECRET, _headers(**headers), body, at)


def test_another_secret_does_not_verify():
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    with pytest.raises(SignatureRefused):
        verify(other, _headers(), BODY, NOW)
