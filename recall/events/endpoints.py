"""A manager's webhook endpoints: where a clinic's events go, which types, and the secret that signs them.

The signing secret follows Standard Webhooks (``whsec_`` and the base64 of 32 random bytes). It is shown once,
when the endpoint is made or its secret rotated; the worker needs it to sign, so it is kept, sealed with the
service's credentials key (``recall.reminders.accounts.Sealer``, as the clinics' Twilio tokens are) when one is
configured, as issued otherwise. A rotation takes effect for the next attempt: the receiver switches at once.

An endpoint is enabled or disabled by its manager; the worker disables one that answered 410 Gone, or failed
every attempt of the retry schedule (``disabled_by_system``: the manager's dashboard says so). Enabling it again
clears the reason, and the deliveries that were waiting resume in order.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import locking
from recall.common.errors import NotFound, ValidationError
from recall.events.tables import WebhookDelivery, WebhookEndpoint
from recall.events.types import EventType
from recall.reminders.accounts import Sealer

MAX_ENDPOINTS = 20  # per clinic: each event is written once per endpoint


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an absolute http:// or https:// address", field="url")
    if parts.username or parts.password:
        raise ValidationError("must not carry a user name or password", field="url")
    return url


def event_types_of(endpoint: WebhookEndpoint) -> list[EventType]:
    return [EventType(t) for t in json.loads(endpoint.event_types)]


def _types(values: list[EventType]) -> str:
    if not values:
        raise ValidationError("pick at least one event type", field="event_types")
    wanted = set(values)
    return json.dumps([t.value for t in EventType if t in wanted])


def _seal(endpoint: WebhookEndpoint, secret: str, sealer: Sealer | None) -> None:
    endpoint.secret, endpoint.secret_sealed = (sealer.seal(secret), True) if sealer else (secret, False)


def open_secret(secret: str, sealed: bool, sealer: Sealer | None) -> str | None:
    """The secret to sign with; None when it is sealed and no configured key opens it."""
    if not sealed:
        return secret
    return sealer.open(secret) if sealer else None


def create_endpoint(
    session: Session, clock: Clock, actor: Actor, data: dict[str, Any], sealer: Sealer | None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (enabled); returns it and its signing secret, shown this once. Commits."""
    actor.require(Role.MANAGER)
    count = session.scalar(
        sa.select(sa.func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.clinic_id == actor.clinic_id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise ValidationError(f"a clinic has at most {MAX_ENDPOINTS} endpoints", field="url")
    now = clock.now()
    endpoint = WebhookEndpoint(
        clinic_id=actor.clinic_id,
        url=check_url(data["url"]),
        description=data.get("description"),
        event_types=_types(data["event_types"]),
        enabled=data.get("enabled", True),
        disabled_by_system=False,
        disabled_at=None if data.get("enabled", True) else now,
        created_at=now,
        updated_at=now,
    )
    secret = new_secret()
    _seal(endpoint, secret, sealer)
    session.add(endpoint)
    session.commit()
    return endpoint, secret


def list_endpoints(clinic_id: int) -> sa.Select[WebhookEndpoint]:
    return sa.select(WebhookEndpoint).where(WebhookEndpoint.clinic_id == clinic_id).order_by(WebhookEndpoint.id)


def get_endpoint(session: Session, clinic_id: int, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    stmt = sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.clinic_id == clinic_id)
    endpoint = session.scalar(locking(stmt) if for_update else stmt)
    if endpoint is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return endpoint


def update_endpoint(
    session: Session, clock: Clock, actor: Actor, endpoint_id: int, data: dict[str, Any]
) -> WebhookEndpoint:
    """Change the address, description, types, or enable/disable; commits."""
    actor.require(Role.MANAGER)
    endpoint = get_endpoint(session, actor.clinic_id, endpoint_id, for_update=True)
    now = clock.now()
    if "url" in data:
        endpoint.url = check_url(data["url"])
    if "description" in data:
        endpoint.description = data["description"]
    if "event_types" in data:
        endpoint.event_types = _types(data["event_types"])
    if "enabled" in data and data["enabled"] != endpoint.enabled:
        set_enabled(endpoint, data["enabled"], now, reason=None if data["enabled"] else "disabled by a manager")
    endpoint.updated_at = now
    session.commit()
    return endpoint


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, now: datetime, *, reason: str | None) -> None:
    endpoint.enabled = enabled
    endpoint.disabled_at = None if enabled else now
    endpoint.disabled_reason = None if enabled else reason
    endpoint.disabled_by_system = False
    endpoint.failing_since = None


def rotate_secret(
    session: Session, clock: Clock, actor: Actor, endpoint_id: int, sealer: Sealer | None
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret from the next attempt on; returns it, shown this once. Commits."""
    actor.require(Role.MANAGER)
    endpoint = get_endpoint(session, actor.clinic_id, endpoint_id, for_update=True)
    secret = new_secret()
    _seal(endpoint, secret, sealer)
    endpoint.updated_at = clock.now()
    session.commit()
    return endpoint, secret


def delete_endpoint(session: Session, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint and its delivery log go; the events stay (other endpoints may still be sending them)."""
    actor.require(Role.MANAGER)
    endpoint = get_endpoint(session, actor.clinic_id, endpoint_id, for_update=True)
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.commit()
    return endpoint


def given_up(session: Session, clinic_id: int) -> list[WebhookEndpoint]:
    """The endpoints the worker disabled (410, or the schedule ran out): what the manager must be told."""
    return list(
        session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.clinic_id == clinic_id, WebhookEndpoint.disabled_by_system.is_(True))
            .order_by(WebhookEndpoint.id)
        )
    )
