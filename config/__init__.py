"""Settings for the recall service.

One base class, one subclass per environment, chosen by ``RECALL_ENV`` (development, test, production).
Everything is read inside the app factory (``load``), never at import time.

Every setting below can be set by an environment variable of the same name; an empty variable counts as unset.
The value is parsed by the setting's type, and a value that cannot be right stops the service with a
``ConfigError`` naming the variable and what is wrong (``WORKER_CONCURRENCY='many' is not a whole number``). A
bool is one of 1/0, true/false, yes/no, on/off. A secret's value is never shown in a message.

==========================  ============  ====================  ==================================================
Variable                    Type          Default               Meaning
==========================  ============  ====================  ==================================================
DATABASE_URL                str (secret)  sqlite:///recall.db   SQLAlchemy URL: a SQLite file or postgresql://...
SQLITE_BUSY_TIMEOUT_MS      int >= 0      10000                 how long SQLite waits for another writer's lock
DB_POOL_SIZE                int >= 1      10                    connections the web process keeps open
DB_MAX_OVERFLOW             int >= 0      20                    connections opened beyond the pool under load
MAX_CONTENT_LENGTH          int >= 1      1048576               largest request body accepted, in bytes
PROXY_FIX_HOPS              int >= 0      0 (production: 1)     proxies whose X-Forwarded-* headers are trusted
TWILIO_ACCOUNT_SID          str           "" (see below)        the service's Twilio account (AC + 32 hex digits)
TWILIO_AUTH_TOKEN           str (secret)  "" (see below)        its auth token; empty: every webhook is refused
TWILIO_BASE_URL             optional str  none: api.twilio.com  where the SDK sends (a stand-in's address)
TWILIO_DEFAULT_FROM         optional str  none                  sender when a clinic's policy names none
TWILIO_TIMEOUT_SECONDS      float > 0     10.0                  read timeout of a request to Twilio
TWILIO_CREDENTIALS_KEY      optional str  none                  Fernet key(s), comma-separated, the first seals:
                            (secret)                            clinics' own auth tokens (recall.reminders.accounts)
PUBLIC_BASE_URL             str           ""                    absolute http(s) address Twilio calls back and
                                                                signs (behind a proxy: the proxy's)
WORKER_CONCURRENCY          int 1..256    32                    parallel sends of one worker process
WORKER_PROCESSES            int 0..64     1                     sending processes of `recall worker` (0: one
                                                                per core)
WORKER_INTERVAL_SECONDS     float > 0     1.0                   seconds between the worker's looks for due work
WEBHOOK_INTERVAL_SECONDS    float > 0     1.0                   seconds between the worker's looks for due webhooks
WEBHOOK_CONCURRENCY         int 1..64     8                     parallel webhook POSTs of one worker process
WEBHOOK_TIMEOUT_SECONDS     float > 0     10.0                  how long a webhook receiver may take to answer
WEBHOOK_LEASE_SECONDS       float >= 1    60.0                  how long a claimed delivery is one worker's; keep
                                                                it above the timeout (then it is sent again)
SECRET_KEY                  str (secret)  "" (see below)        signs the console's cookies and CSRF tokens; at
                                                                least 32 characters in production
CONSOLE_COOKIE_SAMESITE     str           Lax                   the console cookie's SameSite: Lax, Strict, or
                                                                None (a CRM on another site frames the console;
                                                                only with CONSOLE_COOKIE_SECURE)
CONSOLE_COOKIE_SECURE       bool          true (dev/test: 0)    the console's cookie goes over HTTPS only
METRICS_TOKEN               str (secret)  ""                    the bearer token a scrape of /metrics carries
METRICS_ALLOW               str           ""                    addresses or networks (comma-separated, e.g.
                                                                10.0.0.0/8) that may scrape without the token;
                                                                with neither set, /metrics refuses everyone
LOG_LEVEL                   str           INFO                  DEBUG, INFO, WARNING or ERROR: the least severe
                                                                level logged
LOG_FORMAT                  str           json (dev: text,      json: one JSON object per line (recall.common.logs);
                                          test: none)           text: readable lines; none: logging left alone
==========================  ============  ====================  ==================================================

No credential lives here: a constant token in a public repository signs anyone's forged webhook. Development
names the local stand-in's account and sender, makes a random Twilio auth token per run and hands it to the
stand-in ``serve`` starts; the test settings carry their own explicit values; production takes the account, the
token, the public base URL and the console's SECRET_KEY from the environment and refuses to start without them
(``check``); development makes a SECRET_KEY per run unless one is set, so a restart signs browsers out.

The flask-smorest and OpenAPI constants of ``Config`` (API_TITLE, OPENAPI_*) describe the API itself, not a
deployment, so they are not read from the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from config.settings import BY_NAME, SETTINGS, ConfigError, Setting, from_environment

__all__ = [
    "BY_NAME",
    "CONFIGS",
    "PUBLIC_TOKENS",
    "SETTINGS",
    "Config",
    "ConfigError",
    "DevelopmentConfig",
    "ProductionConfig",
    "Setting",
    "TestConfig",
    "check",
    "load",
    "public_base_url_problem",
    "refusals",
]

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_C = TypeVar("_C")


def _with_defaults(cls: type[_C]) -> type[_C]:
    """The table's defaults as the base class's attributes, so the subclasses override them by name."""
    for setting in SETTINGS:
        setattr(cls, setting.name, setting.default)
    return cls


@_with_defaults
class Config:
    """The base settings: the table's defaults (``SETTINGS``) and the API's own constants."""

    ENV_NAME = "base"
    TESTING = False

    # flask-smorest / OpenAPI
    API_TITLE = "recall"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Served from the swagger-ui-bundle package, so the docs page works offline.
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/static/"


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # The local stand-in's account and sender. The auth token is made per run in ``load`` (unless
    # TWILIO_AUTH_TOKEN is set) and handed to the stand-in ``serve`` starts, so it is known to nobody else.
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_DEFAULT_FROM = "+46700000000"
    GENERATE_TWILIO_AUTH_TOKEN = True
    GENERATE_SECRET_KEY = True  # per run unless SECRET_KEY is set: signed-in browsers sign in again after a restart
    CONSOLE_COOKIE_SECURE = False  # http://127.0.0.1
    LOG_FORMAT = "text"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    # Explicit test values: tests that start a stand-in or sign a webhook take them from here or pass their own.
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_AUTH_TOKEN = "test-auth-token"
    TWILIO_DEFAULT_FROM = "+46700000000"
    SECRET_KEY = "test-secret-key"
    CONSOLE_COOKIE_SECURE = False  # the test client and the browser tests speak plain http
    LOG_FORMAT = "none"  # pytest captures the records itself


class ProductionConfig(Config):
    ENV_NAME = "production"
    PROXY_FIX_HOPS = 1
    # No defaults that could reach a real account: these come from the environment, and ``check`` refuses to
    # start without them.
    REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "SECRET_KEY")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def load(
    name: str | None = None, overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the settings for environment ``name`` (default: ``$RECALL_ENV``): the environment's defaults, then
    the variables set in ``environ`` (default: ``os.environ``), parsed, then ``overrides`` (the caller's own,
    taken as given)."""
    environ = os.environ if environ is None else environ
    name = name or environ.get("RECALL_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"RECALL_ENV={name!r} is not one of {sorted(CONFIGS)}") from None
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    try:
        settings.update(from_environment(environ))
    except ConfigError as wrong:
        raise ConfigError(f"RECALL_ENV={name}: {wrong}") from None
    if settings.get("GENERATE_TWILIO_AUTH_TOKEN") and not settings["TWILIO_AUTH_TOKEN"]:
        settings["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)  # this run's: only its own stand-in knows it
    if settings.get("GENERATE_SECRET_KEY") and not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = secrets.token_hex(32)
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
    problems = refusals(settings)
    if problems:
        raise ConfigError(f"RECALL_ENV={settings.get('ENV_NAME')}: cannot start: " + "; ".join(problems))


def refusals(settings: dict[str, Any]) -> list[str]:
    """Why the environment cannot run with ``settings``, one message per variable to set (empty: it can)."""
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
        elif key == "SECRET_KEY" and len(value) < 32:
            problems.append("SECRET_KEY is shorter than 32 characters")
    for part in str(settings.get("METRICS_ALLOW") or "").split(","):
        try:
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            problems.append(f"METRICS_ALLOW names {part.strip()!r}, which is no address or network")
    samesite = settings.get("CONSOLE_COOKIE_SAMESITE", "Lax")
    if samesite not in ("Lax", "Strict", "None"):
        problems.append(f"CONSOLE_COOKIE_SAMESITE={samesite!r} is not Lax, Strict or None")
    elif samesite == "None" and not settings.get("CONSOLE_COOKIE_SECURE"):
        problems.append("CONSOLE_COOKIE_SAMESITE=None needs CONSOLE_COOKIE_SECURE on (browsers drop it otherwise)")
    return problems
