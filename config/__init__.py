"""Settings for the recall service.

One base class, one subclass per environment, chosen by ``RECALL_ENV``.
Everything is read inside the app factory (``load``), never at import time.
"""

from __future__ import annotations

import os
from typing import Any


class Config:
    ENV_NAME = "base"
    TESTING = False
    # The embedded default: a SQLite file in the working directory.
    DATABASE_URL = "sqlite:///recall.db"
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    DB_POOL_SIZE = 10
    DB_MAX_OVERFLOW = 20
    JSON_SORT_KEYS = False
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

    # Pagination
    DEFAULT_PAGE_SIZE = 50
    MAX_PAGE_SIZE = 200

    # Trust X-Forwarded-* from this many proxies (0 = none).
    PROXY_FIX_HOPS = 0

    # Twilio. TWILIO_BASE_URL points the SDK somewhere other than api.twilio.com (the local stand-in);
    # PUBLIC_BASE_URL is the address Twilio calls back and signs (behind a proxy: the proxy's).
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_AUTH_TOKEN = "standin-auth-token"
    TWILIO_BASE_URL: str | None = None
    TWILIO_DEFAULT_FROM: str | None = "+46700000000"
    TWILIO_TIMEOUT_SECONDS = 10.0
    # Fernet key(s), comma-separated (the first seals), for clinics' own auth tokens (recall.clinic_accounts).
    TWILIO_CREDENTIALS_KEY: str | None = None
    PUBLIC_BASE_URL = ""
    # The reminder worker: parallel sends per process, and seconds between scheduler ticks.
    WORKER_CONCURRENCY = 32
    WORKER_INTERVAL_SECONDS = 1.0


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    PROXY_FIX_HOPS = 1
    # No defaults that could reach a real account: these come from the environment.
    TWILIO_ACCOUNT_SID = ""
    TWILIO_AUTH_TOKEN = ""
    TWILIO_DEFAULT_FROM = None


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
    for key in ("DATABASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_BASE_URL", "TWILIO_DEFAULT_FROM",
                "PUBLIC_BASE_URL", "TWILIO_CREDENTIALS_KEY"):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    settings.update(overrides or {})
    return settings
