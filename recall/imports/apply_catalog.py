"""Providers and services from the source, upserted by identifier through ``recall.clinic.catalog``.

A service the source names that we already hold under the same name but without an identifier (made by the
manager before the clinic connected its EHR) is adopted: it gains the identifier instead of a second service
of that name (which the catalog forbids). A duration or follow-up interval the source does not give keeps
ours: the follow-up interval is the clinic's to set, and an EHR seldom knows it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service, create_provider, create_service, update_provider
from recall.common.actors import Actor
from recall.common.clock import Clock
from recall.common.errors import ValidationError
from recall.imports.records import ProviderRecord, Result, ServiceRecord
from recall.imports.refs import Applied, by_ref, check_ref, checked_text
from recall.queue.service_edits import update_service

NAME_LENGTH, SPECIALTY_LENGTH = 200, 100
MAX_DURATION_MINUTES = 12 * 60
MAX_INTERVAL_DAYS = 3650


def apply_provider(session: Session, clock: Clock, actor: Actor, record: ProviderRecord) -> Applied:
    ref = check_ref(record.ref)
    data = {
        "name": checked_text(str(record.name or ""), NAME_LENGTH, "name"),
        "specialty": checked_text(str(record.specialty or ""), SPECIALTY_LENGTH, "specialty"),
        "active": bool(record.active),
    }
    provider = by_ref(session, Provider, actor.clinic_id, ref)
    if provider is None:
        return Applied(Result.CREATED, create_provider(session, clock, actor, {**data, "external_ref": ref}).id)
    changes = _changes(provider, data)
    if not changes:
        return Applied(Result.UNCHANGED, provider.id)
    update_provider(session, actor, provider.id, changes)
    return Applied(Result.UPDATED, provider.id)


def apply_service(session: Session, clock: Clock, actor: Actor, record: ServiceRecord) -> Applied:
    ref = check_ref(record.ref)
    data: dict[str, Any] = {"name": checked_text(str(record.name or ""), NAME_LENGTH, "name")}
    if record.duration_minutes is not None:
        data["duration_minutes"] = _bounded(record.duration_minutes, MAX_DURATION_MINUTES, "duration_minutes")
    if record.follow_up_interval_days is not None:
        data["follow_up_interval_days"] = _bounded(
            record.follow_up_interval_days, MAX_INTERVAL_DAYS, "follow_up_interval_days"
        )
    service = by_ref(session, Service, actor.clinic_id, ref)
    if service is None:
        service = session.scalar(
            sa.select(Service).where(
                Service.clinic_id == actor.clinic_id,
                Service.name == data["name"].strip(),
                Service.external_ref.is_(None),
            )
        )
        if service is None:
            return Applied(Result.CREATED, create_service(session, clock, actor, {**data, "external_ref": ref}).id)
        update_service(session, actor, service.id, {**_changes(service, data), "external_ref": ref})
        return Applied(Result.UPDATED, service.id, note="an existing service of this name took the identifier")
    changes = _changes(service, data)
    if not changes:
        return Applied(Result.UNCHANGED, service.id)
    update_service(session, actor, service.id, changes)
    return Applied(Result.UPDATED, service.id)


def _bounded(value: object, highest: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        raise ValidationError(f"must be a whole number from 1 to {highest}", field=field)
    return value


def _changes(row: Provider | Service, data: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from ours (names compared as the catalog stores them, stripped)."""
    out = {}
    for key, value in data.items():
        mine = getattr(row, key)
        if (value.strip() if isinstance(value, str) else value) != mine:
            out[key] = value
    return out
