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
    "SECRET_KEY": "s" * 40,
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


# --- every setting from the environment, typed ---------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, raw, value",
    [
        ("DB_POOL_SIZE", "5", 5),
        ("SQLITE_BUSY_TIMEOUT_MS", " 2500 ", 2500),
        ("MAX_CONTENT_LENGTH", "2048", 2048),
        ("PROXY_FIX_HOPS", "2", 2),
        ("WORKER_CONCURRENCY", "256", 256),
        ("WORKER_INTERVAL_SECONDS", "0.25", 0.25),
        ("TWILIO_TIMEOUT_SECONDS", "3", 3.0),
        ("TWILIO_BASE_URL", "http://127.0.0.1:9", "http://127.0.0.1:9"),
        ("TWILIO_DEFAULT_FROM", "+46700000001", "+46700000001"),
        ("PUBLIC_BASE_URL", "https://recall.clinic.example", "https://recall.clinic.example"),
        ("DATABASE_URL", "sqlite:///elsewhere.db", "sqlite:///elsewhere.db"),
    ],
)
def test_each_setting_is_read_from_its_variable_by_its_type(variable, raw, value):
    loaded = config.load("test", environ={variable: raw})[variable]
    assert loaded == value and type(loaded) is type(value)


@pytest.mark.parametrize("raw, value", [("1", True), ("yes", True), ("On", True), ("0", False), ("FALSE", False)])
def test_a_bool_setting_reads_the_usual_words(raw, value):
    assert config.Setting("SOME_FLAG", "bool", False, "a flag").parse(raw) is value


def test_an_unset_or_empty_variable_leaves_the_environments_default():
    assert config.load("production", environ={"PROXY_FIX_HOPS": ""})["PROXY_FIX_HOPS"] == 1
    assert config.load("test", environ={})["TWILIO_BASE_URL"] is None


def test_the_process_environment_is_read_and_the_callers_overrides_win(monkeypatch, scratch):
    monkeypatch.setenv("WORKER_CONCURRENCY", "8")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "4096")
    app = create_app("test", {"MAX_CONTENT_LENGTH": 1024}, database=scratch)
    assert (app.config["WORKER_CONCURRENCY"], app.config["MAX_CONTENT_LENGTH"]) == (8, 1024)


@pytest.mark.parametrize(
    "variable, raw, says",
    [
        ("WORKER_CONCURRENCY", "many", "WORKER_CONCURRENCY='many' is not a whole number"),
        ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY='0' is less than 1"),
        ("WORKER_CONCURRENCY", "257", "WORKER_CONCURRENCY='257' is more than 256"),
        ("WORKER_CONCURRENCY", "2.5", "WORKER_CONCURRENCY='2.5' is not a whole number"),
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE='0' is less than 1"),
        ("DB_MAX_OVERFLOW", "-1", "DB_MAX_OVERFLOW='-1' is less than 0"),
        ("PROXY_FIX_HOPS", "one", "PROXY_FIX_HOPS='one' is not a whole number"),
        ("WORKER_INTERVAL_SECONDS", "0", "WORKER_INTERVAL_SECONDS='0' is not more than 0"),
        ("WORKER_INTERVAL_SECONDS", "soon", "WORKER_INTERVAL_SECONDS='soon' is not a (finite) number"),
        ("TWILIO_TIMEOUT_SECONDS", "nan", "TWILIO_TIMEOUT_SECONDS='nan' is not a (finite) number"),
        ("TWILIO_TIMEOUT_SECONDS", "inf", "TWILIO_TIMEOUT_SECONDS='inf' is not a (finite) number"),
    ],
)
def test_a_wrong_value_stops_the_service_naming_the_variable_and_what_is_wrong(
    monkeypatch, scratch, variable, raw, says
):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(config.ConfigError) as refused:
        create_app("test", database=scratch)
    assert says in str(refused.value) and "RECALL_ENV=test" in str(refused.value)


def test_a_bool_that_is_no_word_for_yes_or_no_is_named():
    with pytest.raises(config.ConfigError, match="SOME_FLAG='maybe' is not one of 1/0, true/false"):
        config.Setting("SOME_FLAG", "bool", False, "a flag").parse("maybe")


def test_every_wrong_variable_is_named_at_once():
    with pytest.raises(config.ConfigError) as refused:
        config.load("test", environ={"DB_POOL_SIZE": "x", "WORKER_INTERVAL_SECONDS": "-1", "PROXY_FIX_HOPS": "1"})
    assert "DB_POOL_SIZE" in str(refused.value) and "WORKER_INTERVAL_SECONDS" in str(refused.value)
    assert "PROXY_FIX_HOPS" not in str(refused.value)


def test_no_secret_appears_in_an_error(no_twilio_environment):
    secrets = {
        "DATABASE_URL": "postgresql://recall:hunter2-db@db.example/recall",
        "TWILIO_AUTH_TOKEN": PUBLISHED,  # refused by check, without being repeated
        "TWILIO_CREDENTIALS_KEY": "hunter2-fernet-key",
        "SECRET_KEY": "hunter2-too-short",  # refused by check (under 32 characters), without being repeated
        "METRICS_TOKEN": "hunter2-metrics",
    }
    assert {name for name, setting in config.BY_NAME.items() if setting.secret} == set(secrets)
    environ = {**PRODUCTION, **secrets, "WORKER_CONCURRENCY": "many"}
    with pytest.raises(config.ConfigError) as wrong_type:
        config.load("production", environ=environ)
    with pytest.raises(config.ConfigError) as refused:
        config.check(config.load("production", environ={**environ, "WORKER_CONCURRENCY": "4"}))
    for error in (wrong_type, refused):
        assert not [value for value in secrets.values() if value in str(error.value)], str(error.value)
    assert "TWILIO_AUTH_TOKEN" in str(refused.value) and "SECRET_KEY" in str(refused.value)
    # A secret of a type that can be wrong is named, its value not shown.
    hidden = config.Setting("SOME_SECRET_NUMBER", "int", 0, "a secret", secret=True)
    with pytest.raises(config.ConfigError, match=r"^SOME_SECRET_NUMBER is not a whole number$"):
        hidden.parse("hunter2")


def test_every_setting_is_documented_is_a_base_default_and_each_environments_value_passes_its_checks():
    for setting in config.SETTINGS:
        assert setting.name in config.__doc__
        assert getattr(config.Config, setting.name) == setting.default
        for environment in config.CONFIGS.values():
            value = getattr(environment, setting.name)
            if value not in (None, ""):
                assert setting.parse(str(value)) == value, (environment.ENV_NAME, setting.name)


def test_the_base_settings_name_no_stand_in_account_nor_sender():
    base = {name: getattr(config.Config, name) for name in config.BY_NAME if name.startswith("TWILIO_")}
    assert set(base.values()) <= {"", None, config.BY_NAME["TWILIO_TIMEOUT_SECONDS"].default}, base
