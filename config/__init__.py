"""Settings for the recall service.

One base class, one subclass per environment, chosen by ``RECALL_ENV``.
Everything is read inside the app factory (``load``), never at import time.

No credential lives here: a constant token in a public repository signs anyone's forged webhook. Development
makes a random Twilio auth token per run and hands it to the local stand-in it starts; the test settings carry
their own explicit values; production takes the account, the token and the public base URL from the environment
and refuses to start without them (``check``).
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")


class ConfigError(RuntimeError):
    """A setting the service cannot run without is missing or wrong; the message names the variable to set."""


class Config:
    ENV_NAME = "base"
    TESTING = False
    # The embedded default: a SQLite file in the working directory.
    DATABASE_URL = "sqlite:///recall.db"
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    DB_POOL_SIZE = 10
    DB_MAX_OVERFLOW = 20
    MAX_CONTENT_LENGTH = 1024 * 1024  # no request of this API comes near 1 MiB

    # flask-smorest / OpenAPI
    API_TITLE = "recall"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Served from the swagger-ui-bundle package, so the docs page works offline.
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/static/"

    # Trust X-Forwarded-* from this many proxies (0 = none).
    PROXY_FIX_HOPS = 0

    # Twilio. TWILIO_BASE_URL points the SDK somewhere other than api.twilio.com (the local stand-in);
    # PUBLIC_BASE_URL is the address Twilio calls back and signs (behind a proxy: the proxy's).
    # No credentials in the base class: each environment says where its own come from.
    TWILIO_ACCOUNT_SID = ""
    TWILIO_AUTH_TOKEN = ""  # empty: every webhook is refused (recall.web.webhooks)
    TWILIO_BASE_URL: str | None = None
    TWILIO_DEFAULT_FROM: str | None = None
    TWILIO_TIMEOUT_SECONDS = 10.0
    # Fernet key(s), comma-separated (the first seals), for clinics' own auth tokens (recall.clinic_accounts).
    TWILIO_CREDENTIALS_KEY: str | None = None
    PUBLIC_BASE_URL = ""
    # The reminder worker: parallel sends per process, and seconds between scheduler ticks.
    WORKER_CONCURRENCY = 32
    WORKER_INTERVAL_SECONDS = 1.0


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # The local stand-in's account and sender. The auth token is made per run in ``load`` (unless
    # TWILIO_AUTH_TOKEN is set) and handed to the stand-in ``serve`` starts, so it is known to nobody else.
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_DEFAULT_FROM = "+46700000000"
    GENERATE_TWILIO_AUTH_TOKEN = True


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    # Explicit test values: tests that start a stand-in or sign a webhook take them from here or pass their own.
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_AUTH_TOKEN = "test-auth-token"
    TWILIO_DEFAULT_FROM = "+46700000000"


class ProductionConfig(Config):
    ENV_NAME = "production"
    PROXY_FIX_HOPS = 1
    # No defaults that could reach a real account: these come from the environment, and ``check`` refuses to
    # start without them.
    REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def load(name: str | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the settings for environment ``name`` (default: ``$RECALL_ENV``)."""
    name = name or os.environ.get("RECALL_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"RECALL_ENV={name!r} is not one of {sorted(CONFIGS)}") from None
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    for key in (
        "DATABASE_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_BASE_URL",
        "TWILIO_DEFAULT_FROM",
        "PUBLIC_BASE_URL",
        "TWILIO_CREDENTIALS_KEY",
    ):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    if settings.get("GENERATE_TWILIO_AUTH_TOKEN") and not settings["TWILIO_AUTH_TOKEN"]:
        settings["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)  # this run's: only its own stand-in knows it
    settings.update(overrides or {})
    return settings


#: Tokens published in this repository (the stand-in's default, the test settings'): they sign nothing real.
PUBLIC_TOKENS = frozenset({"standin-auth-token", TestConfig.TWILIO_AUTH_TOKEN})


def public_base_url_problem(value: str | None) -> str | None:
    """Why ``value`` cannot be the address Twilio calls back (None: it can). Twilio needs an absolute http(s)
    URL; a relative one makes every StatusCallback and call Url invalid, so Twilio rejects the send."""
    if not value:
        return "PUBLIC_BASE_URL is not set: set it to the absolute http(s) address Twilio reaches this service at"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"PUBLIC_BASE_URL={value!r} is not an absolute http(s) URL (like https://recall.example.com)"
    if parts.query or parts.fragment:
        return f"PUBLIC_BASE_URL={value!r} must not carry a query or a fragment: paths are appended to it"
    return None


def check(settings: dict[str, Any]) -> None:
    """Refuse settings the environment cannot run with, naming every variable to set (the app factory calls it)."""
    problems = []
    for key in settings.get("REQUIRED", ()):
        value = (settings.get(key) or "").strip()
        if key == "PUBLIC_BASE_URL":
            problem = public_base_url_problem(value)
            if problem:
                problems.append(problem)
        elif not value:
            problems.append(f"{key} is not set")
        elif key == "TWILIO_ACCOUNT_SID" and not _ACCOUNT_SID.fullmatch(value):
            problems.append("TWILIO_ACCOUNT_SID is not an Account SID (AC and 32 hex digits)")
        elif key == "TWILIO_AUTH_TOKEN" and value in PUBLIC_TOKENS:
            problems.append("TWILIO_AUTH_TOKEN is a stand-in's public token, not the account's")
    if problems:
        raise ConfigError(f"RECALL_ENV={settings.get('ENV_NAME')}: cannot start: " + "; ".join(problems))
