"""The settings an environment variable can set: one table (``SETTINGS``) of name, type, default and meaning, and
the parsing that turns a variable's text into its typed value or a ``ConfigError`` naming it.

The webhook worker's settings (``WEBHOOK_INTERVAL_SECONDS``, ``WEBHOOK_CONCURRENCY``, ``WEBHOOK_TIMEOUT_SECONDS``,
``WEBHOOK_LEASE_SECONDS``) pace the delivery job of ``recall worker`` apart from the reminders' job: how often it
looks for due deliveries, how many POSTs it makes at once, how long a receiver may take, and how long a claimed
delivery stays one worker's (a killed worker's deliveries go again, under the same ``webhook-id``, once it lapses).

Kept apart from the environments (``config``) so that the table reads as one list; ``config``'s docstring
documents it for operators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal


class ConfigError(RuntimeError):
    """A setting the service cannot run without is missing or wrong; the message names the variable to set."""


Kind = Literal["int", "float", "bool", "str", "optional str"]


@dataclass(frozen=True)
class Setting:
    """One setting: its variable, type, base default and meaning, and the range outside which it would hurt."""

    name: str
    kind: Kind
    default: Any
    doc: str
    secret: bool = False  # never shown in a message
    at_least: float | None = None
    at_most: float | None = None
    more_than: float | None = None
    one_of: tuple[str, ...] = ()  # the only values a "str" setting takes (empty: any text)

    def parse(self, raw: str) -> Any:
        """The value of the variable set to ``raw``, or ConfigError naming the variable and what is wrong."""
        shown = self.name if self.secret else f"{self.name}={raw!r}"
        value = _PARSERS[self.kind](raw)
        if value is _WRONG:
            raise ConfigError(f"{shown} is not {_EXPECTED[self.kind]}")
        if self.at_least is not None and value < self.at_least:
            raise ConfigError(f"{shown} is less than {_number(self.at_least)}")
        if self.at_most is not None and value > self.at_most:
            raise ConfigError(f"{shown} is more than {_number(self.at_most)}")
        if self.more_than is not None and not value > self.more_than:
            raise ConfigError(f"{shown} is not more than {_number(self.more_than)}")
        if self.one_of and value not in self.one_of:
            raise ConfigError(f"{shown} is not one of {', '.join(self.one_of)}")
        return value


_WRONG = object()  # what a parser returns for a value it cannot read
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def _whole(raw: str) -> Any:
    try:
        return int(raw.strip())
    except ValueError:
        return _WRONG


def _finite(raw: str) -> Any:
    # nan and inf parse as floats, but no timeout or interval means them.
    try:
        value = float(raw.strip())
    except ValueError:
        return _WRONG
    return value if math.isfinite(value) else _WRONG


def _flag(raw: str) -> Any:
    word = raw.strip().lower()
    return True if word in _TRUE else False if word in _FALSE else _WRONG


_PARSERS: dict[Kind, Callable[[str], Any]] = {
    "int": _whole,
    "float": _finite,
    "bool": _flag,
    "str": str,  # taken as given, as the shell passes it
    "optional str": str,  # unset (or empty) is None
}
_EXPECTED: dict[Kind, str] = {
    "int": "a whole number",
    "float": "a (finite) number",
    "bool": "one of 1/0, true/false, yes/no, on/off",
    "str": "text",
    "optional str": "text",
}


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


#: Every setting an environment variable can set, with the base class's default (documented above).
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL", "str", "sqlite:///recall.db", "SQLAlchemy URL (a SQLite file or postgresql://)", secret=True
    ),
    Setting("SQLITE_BUSY_TIMEOUT_MS", "int", 10_000, "how long SQLite waits for another writer's lock", at_least=0),
    Setting("DB_POOL_SIZE", "int", 10, "connections the web process keeps open", at_least=1),
    Setting("DB_MAX_OVERFLOW", "int", 20, "connections opened beyond the pool under load", at_least=0),
    # No request of this API comes near 1 MiB.
    Setting("MAX_CONTENT_LENGTH", "int", 1024 * 1024, "largest request body accepted, in bytes", at_least=1),
    Setting("PROXY_FIX_HOPS", "int", 0, "proxies whose X-Forwarded-* headers are trusted (0: none)", at_least=0),
    # No credentials in the base class: each environment says where its own come from.
    Setting("TWILIO_ACCOUNT_SID", "str", "", "the service's Twilio account"),
    Setting("TWILIO_AUTH_TOKEN", "str", "", "its auth token; empty: every webhook is refused", secret=True),
    Setting("TWILIO_BASE_URL", "optional str", None, "where the SDK sends instead of api.twilio.com (a stand-in)"),
    Setting("TWILIO_DEFAULT_FROM", "optional str", None, "the sender when a clinic's policy names none"),
    Setting("TWILIO_TIMEOUT_SECONDS", "float", 10.0, "read timeout of a request to Twilio", more_than=0),
    Setting(
        "TWILIO_CREDENTIALS_KEY",
        "optional str",
        None,
        "Fernet key(s), comma-separated (the first seals), for clinics' own auth tokens (recall.reminders.accounts)",
        secret=True,
    ),
    Setting("PUBLIC_BASE_URL", "str", "", "the absolute http(s) address Twilio calls back and signs"),
    # The console (recall.web.console): its session cookie is signed with SECRET_KEY.
    Setting("SECRET_KEY", "str", "", "signs the console's cookies and CSRF tokens (long and random)", secret=True),
    Setting(
        "CONSOLE_COOKIE_SAMESITE",
        "str",
        "Lax",
        "SameSite of the console's cookie: Lax, Strict, or None (needed when a CRM on another site frames it)",
    ),
    Setting("CONSOLE_COOKIE_SECURE", "bool", True, "send the console's cookie over HTTPS only"),
    # Beyond 256 parallel sends a process only queues them, holding a connection each.
    Setting("WORKER_CONCURRENCY", "int", 32, "parallel sends of one worker process", at_least=1, at_most=256),
    Setting(
        "WORKER_PROCESSES", "int", 1, "sending processes of `recall worker` (0: one per core)", at_least=0, at_most=64
    ),
    Setting("WORKER_INTERVAL_SECONDS", "float", 1.0, "seconds between the worker's looks for due work", more_than=0),
    # Metrics (recall.web.metrics): who may scrape /metrics.
    Setting("METRICS_TOKEN", "str", "", "the bearer token a scrape of /metrics must carry (empty: none)", secret=True),
    Setting("METRICS_ALLOW", "str", "", "addresses or networks that may scrape without it, comma-separated"),
    # Logs (recall.common.logs): JSON lines in production, readable lines in development, pytest's in tests.
    Setting("LOG_LEVEL", "str", "INFO", "the least severe level logged", one_of=("DEBUG", "INFO", "WARNING", "ERROR")),
    Setting("LOG_FORMAT", "str", "json", "json (one object per line), text, or none", one_of=("json", "text", "none")),
    # Webhooks to the clinics' CRMs (recall.events.delivery): their own pace, apart from the reminders'.
    Setting(
        "WEBHOOK_INTERVAL_SECONDS", "float", 1.0, "seconds between the worker's looks for due webhooks", more_than=0
    ),
    Setting("WEBHOOK_CONCURRENCY", "int", 8, "parallel webhook POSTs of one worker process", at_least=1, at_most=64),
    Setting("WEBHOOK_TIMEOUT_SECONDS", "float", 10.0, "how long a webhook receiver may take to answer", more_than=0),
    Setting(
        "WEBHOOK_LEASE_SECONDS",
        "float",
        60.0,
        "how long a claimed webhook delivery is a worker's before another may send it (longer than the timeout)",
        at_least=1,
    ),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def from_environment(environ: Mapping[str, str], settings: tuple[Setting, ...] = SETTINGS) -> dict[str, Any]:
    """The ``settings`` (by default the service's) that ``environ`` sets, parsed; ConfigError naming every variable
    that is wrong."""
    values, problems = {}, []
    for setting in settings:
        raw = environ.get(setting.name)
        if not raw:
            continue  # unset or empty: the environment's default
        try:
            values[setting.name] = setting.parse(raw)
        except ConfigError as wrong:
            problems.append(str(wrong))
    if problems:
        raise ConfigError("cannot start: " + "; ".join(problems))
    return values
