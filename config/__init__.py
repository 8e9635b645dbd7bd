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


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    PROXY_FIX_HOPS = 1


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
    if os.environ.get("DATABASE_URL"):
        settings["DATABASE_URL"] = os.environ["DATABASE_URL"]
    settings.update(overrides or {})
    return settings
