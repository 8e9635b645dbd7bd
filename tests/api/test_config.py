"""No public secret: the settings carry no credential anyone could read in this repository.

Development makes a random Twilio auth token per run (and ``serve`` hands it to its stand-in, see
``test_cli.py``); production refuses to start without the account's own SID and token and an absolute public
URL, naming what to set; the test settings carry explicit test values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import config
from integrations.twilio import signatures
from recall.common.db import Database
from recall.migrate import upgrade
from recall.web import create_app

PUBLISHED = "standin-auth-token"  # the stand-in's default token, readable by anyone in this repository
ACCOUNT = "AC" + "3" * 32
PRODUCTION = {
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "PUBLIC_BASE_URL": "https://recall.clinic.example",
}
TWILIO_VARIABLES = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_BASE_URL",
    "TWILIO_DEFAULT_FROM",
    "PUBLIC_BASE_URL",
)


@pytest.fixture
def no_twilio_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Started as the README starts it: none of the Twilio variables set."""
    for name in TWILIO_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def scratch(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'config.db'}")
    upgrade(database.engine)
    yield database
    database.dispose()


def status_callback(app, token: str, url_base: str = "http://localhost"):
    """A status callback Twilio would send for the app's own account, signed with ``token`` over the URL requested."""
    path = "/webhooks/twilio/message-status?r=1"
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "AccountSid": app.config["TWILIO_ACCOUNT_SID"]}
    headers = {"X-Twilio-Signature": signatures.sign(token, url_base + path, form)}
    return app.test_client().post(path, data=form, headers=headers, base_url=url_base)


def test_development_without_a_token_makes_a_random_one_for_each_run(no_twilio_environment):
    first, second = config.load("development"), config.load("development")
    tokens = {first["TWILIO_AUTH_TOKEN"], second["TWILIO_AUTH_TOKEN"]}
    assert len(tokens) == 2, "each run has its own token"
    assert all(len(token) == 32 and int(token, 16) >= 0 for token in tokens)
    assert PUBLISHED not in tokens


def test_the_base_settings_hold_no_credential():
    assert (config.Config.TWILIO_AUTH_TOKEN, config.Config.TWILIO_ACCOUNT_SID) == ("", "")


def test_a_webhook_signed_with_the_published_token_is_refused_by_a_development_app(no_twilio_environment, scratch):
    app = create_app("development", database=scratch)
    assert status_callback(app, PUBLISHED).status_code == 403
    assert status_callback(app, app.config["TWILIO_AUTH_TOKEN"]).status_code == 200  # this run's token is good


def test_a_token_in_the_environment_is_the_one_development_uses(no_twilio_environment, monkeypatch, scratch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "shared-with-my-own-stand-in")
    app = create_app("development", database=scratch)
    assert app.config["TWILIO_AUTH_TOKEN"] == "shared-with-my-own-stand-in"
    assert status_callback(app, "shared-with-my-own-stand-in").status_code == 200


def test_the_test_settings_carry_their_own_explicit_values(no_twilio_environment):
    first, second = config.load("test"), config.load("test")
    assert first["TWILIO_AUTH_TOKEN"] == second["TWILIO_AUTH_TOKEN"] == config.TestConfig.TWILIO_AUTH_TOKEN
    assert first["TWILIO_AUTH_TOKEN"] not in ("", PUBLISHED)
    assert first["TWILIO_ACCOUNT_SID"] == config.TestConfig.TWILIO_ACCOUNT_SID != ""


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"])
def test_production_refuses_to_start_without_each_variable_and_names_it(no_twilio_environment, scratch, missing):
    with pytest.raises(config.ConfigError, match=missing) as refused:
        create_app("production", {**PRODUCTION, missing: ""}, database=scratch)
    assert [name for name in PRODUCTION if name in str(refused.value)] == [missing]


def test_production_started_with_nothing_names_every_variable_it_needs(no_twilio_environment, scratch):
    with pytest.raises(config.ConfigError) as refused:
        create_app("production", database=scratch)
    assert all(name in str(refused.value) for name in PRODUCTION)


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PUBLIC_BASE_URL", "recall.clinic.example"),
        ("PUBLIC_BASE_URL", "/webhooks"),
        ("PUBLIC_BASE_URL", "ftp://recall.clinic.example"),
        ("PUBLIC_BASE_URL", "https://"),
        ("PUBLIC_BASE_URL", "https://recall.clinic.example/?x=1"),
        ("TWILIO_AUTH_TOKEN", PUBLISHED),
        ("TWILIO_AUTH_TOKEN", config.TestConfig.TWILIO_AUTH_TOKEN),
        ("TWILIO_AUTH_TOKEN", "   "),
        ("TWILIO_ACCOUNT_SID", "not-a-sid"),
    ],
)
def test_production_refuses_a_value_that_cannot_be_real_and_names_it(no_twilio_environment, scratch, variable, value):
    with pytest.raises(config.ConfigError, match=variable):
        create_app("production", {**PRODUCTION, variable: value}, database=scratch)


def test_production_reads_its_credentials_from_the_environment(no_twilio_environment, monkeypatch, scratch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app("production", database=scratch)
    assert status_callback(app, PRODUCTION["TWILIO_AUTH_TOKEN"], PRODUCTION["PUBLIC_BASE_URL"]).status_code == 200
    assert status_callback(app, PUBLISHED, PRODUCTION["PUBLIC_BASE_URL"]).status_code == 403
