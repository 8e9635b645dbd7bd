"""What a deployment's settings lack or risk: the findings ``recall check-config`` prints.

``refusals`` are what stops the service from starting (``config.check`` raises them); ``warnings`` run but are
unsafe or surprising for production. Each finding names the variable to change and why, never a value of a
secret (a URL is shown without its password).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

Level = Literal["refused", "warning"]


@dataclass(frozen=True)
class Finding:
    level: Level
    variable: str
    message: str


def warnings(settings: dict[str, Any]) -> list[Finding]:
    """What production would run with but should not (nothing is shown of a secret's value)."""
    found: list[Finding] = []

    def warn(variable: str, message: str) -> None:
        found.append(Finding("warning", variable, message))

    url = str(settings.get("DATABASE_URL") or "")
    if url.startswith("sqlite"):
        warn(
            "DATABASE_URL",
            "is SQLite: it serves one machine and one writer at a time; production with several web or worker "
            "processes runs on PostgreSQL (postgresql://...)",
        )
    base = str(settings.get("PUBLIC_BASE_URL") or "")
    if base and urlsplit(base).scheme == "http":
        warn("PUBLIC_BASE_URL", "is plain http: Twilio's callbacks and the console should reach recall over https")
    if settings.get("TWILIO_BASE_URL"):
        warn("TWILIO_BASE_URL", "is set: reminders go to that address (a stand-in), not to api.twilio.com")
    if not settings.get("TWILIO_CREDENTIALS_KEY"):
        warn(
            "TWILIO_CREDENTIALS_KEY",
            "is not set: a clinic cannot store its own Twilio account, and webhook signing secrets are kept "
            "unsealed (set a Fernet key)",
        )
    if not settings.get("CONSOLE_COOKIE_SECURE"):
        warn("CONSOLE_COOKIE_SECURE", "is off: the console's session cookie would travel over plain http")
    if settings.get("PROXY_FIX_HOPS", 0) == 0:
        warn(
            "PROXY_FIX_HOPS",
            "is 0: behind the clinic's proxy, client addresses and https would be read from the proxy itself",
        )
    return found


def describe_url(url: str) -> str:
    """A database URL as it may be shown: its scheme, host and database, without user or password."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
