"""What a clinic offers: providers (doctors, with a specialty) and services (visit types)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import NotFound, ValidationError


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    specialty: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the source's identifier (recall.imports)

    __table_args__ = (sa.UniqueConstraint("clinic_id", "external_ref", name="uq_providers_clinic_external_ref"),)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    duration_minutes: Mapped[int] = mapped_column(default=30)
    # The follow-up the doctor usually recommends after this visit; None: no follow-up.
    follow_up_interval_days: Mapped[int | None] = mapped_column()
    # How much winning this patient back is worth to the clinic; orders the recall queue.
    value_weight: Mapped[float] = mapped_column(sa.Float, default=1.0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the source's identifier (recall.imports)

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "name", name="uq_services_clinic_name"),
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_services_clinic_external_ref"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("follow_up_interval_days IS NULL OR follow_up_interval_days > 0", name="interval_positive"),
        sa.CheckConstraint("value_weight >= 0.1 AND value_weight <= 10", name="value_weight_range"),
    )


M = TypeVar("M", Provider, Service)


def _get(session: Session, model: type[M], clinic_id: int, ident: int | None, what: str) -> M:
    obj = session.get(model, ident) if ident is not None else None
    if obj is None or obj.clinic_id != clinic_id:
        raise NotFound(what, ident)
    return obj


def get_provider(session: Session, clinic_id: int, provider_id: int) -> Provider:
    return _get(session, Provider, clinic_id, provider_id, "provider")


def get_service(session: Session, clinic_id: int, service_id: int) -> Service:
    return _get(session, Service, clinic_id, service_id, "service")


def referenced(
    session: Session, clinic_id: int, provider_id: int | None, service_id: int | None
) -> tuple[Provider | None, Service | None]:
    """Resolve ids named in a request body; a foreign or unknown id is a 422 on that field."""
    provider = service = None
    if provider_id is not None:
        try:
            provider = get_provider(session, clinic_id, provider_id)
        except NotFound:
            raise ValidationError(f"no provider {provider_id} in this clinic", field="provider_id") from None
    if service_id is not None:
        try:
            service = get_service(session, clinic_id, service_id)
        except NotFound:
            raise ValidationError(f"no service {service_id} in this clinic", field="service_id") from None
    return provider, service


def _set_fields(obj: Provider | Service, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in ("name", "specialty"):
            if not str(value).strip():
                raise ValidationError("must not be empty", field=key)
            value = value.strip()
        setattr(obj, key, value)


def create_provider(session: Session, clock: Clock, actor: Actor, data: dict[str, Any]) -> Provider:
    actor.require(Role.MANAGER, Role.SYSTEM)
    provider = Provider(clinic_id=actor.clinic_id, created_at=clock.now(), active=True)
    _set_fields(provider, data)
    session.add(provider)
    session.commit()
    return provider


def update_provider(session: Session, actor: Actor, provider_id: int, data: dict[str, Any]) -> Provider:
    actor.require(Role.MANAGER, Role.SYSTEM)
    provider = get_provider(session, actor.clinic_id, provider_id)
    _set_fields(provider, data)
    session.commit()
    return provider


def create_service(session: Session, clock: Clock, actor: Actor, data: dict[str, Any]) -> Service:
    actor.require(Role.MANAGER, Role.SYSTEM)
    service = Service(
        clinic_id=actor.clinic_id, created_at=clock.now(), active=True, duration_minutes=30, value_weight=1.0
    )
    _set_fields(service, data)
    session.add(service)
    session.commit()
    return service


def change_service(session: Session, actor: Actor, service_id: int, data: dict[str, Any]) -> Service:
    """Apply an edit of a service inside the caller's transaction (``recall.queue.service_edits`` commits it,
    with the recall queue's order that a new value weight changes)."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    service = get_service(session, actor.clinic_id, service_id)
    _set_fields(service, data)
    return service


def list_providers(clinic_id: int, active: bool | None = None) -> sa.Select[Provider]:
    stmt = sa.select(Provider).where(Provider.clinic_id == clinic_id).order_by(Provider.id)
    return stmt if active is None else stmt.where(Provider.active == active)


def list_services(clinic_id: int, active: bool | None = None) -> sa.Select[Service]:
    stmt = sa.select(Service).where(Service.clinic_id == clinic_id).order_by(Service.id)
    return stmt if active is None else stmt.where(Service.active == active)
