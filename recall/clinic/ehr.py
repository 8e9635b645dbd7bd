"""A clinic's wiring to its EHR: integration tokens for the FHIR Bundle endpoint, the secret that signs the
EHR's notifications, and the notifications already seen.

- An **integration token** (``rci_`` + random) is issued by a manager, shown once and stored hashed (SHA-256),
  and revoked by a manager. It acts as ``Actor.system`` of its clinic and is accepted only by the FHIR
  endpoints (``recall.web.auth``); every other endpoint refuses it.
- The **EHR secret** (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks format) signs the EHR's
  notifications. Checking an HMAC needs the secret itself, so it is stored as it is, like the launch secret
  (``recall.clinic.integration``); the manager sees it once, when it is made, and issuing another replaces it.
- The EHR's **resource ids** (``Patient/123``) of what landed, with the ref each became (``ehr_resource_ids``):
  a later notification that refers to ``Patient/123`` alone finds the patient imported under its identifier.
- A notification's ``webhook-id`` is kept (``ehr_notifications``) so that a replay is acknowledged and does
  nothing.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.staff import hash_token
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import NotFound, Unauthenticated

INTEGRATION_PREFIX = "rci_"


class IntegrationToken(Base):
    __tablename__ = "integration_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(12))  # the first characters, to tell tokens apart
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EhrLink(Base):
    __tablename__ = "ehr_links"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EhrNotification(Base):
    __tablename__ = "ehr_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    webhook_id: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("clinic_id", "webhook_id", name="uq_ehr_notification"),)


class EhrResourceId(Base):
    __tablename__ = "ehr_resource_ids"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    resource_type: Mapped[str] = mapped_column(sa.String(40))
    fhir_id: Mapped[str] = mapped_column(sa.String(64))
    ref: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.UniqueConstraint("clinic_id", "resource_type", "fhir_id", name="uq_ehr_resource_id"),)


@dataclass(frozen=True)
class IssuedIntegrationToken:
    token: IntegrationToken
    secret: str  # shown once, never stored


def issue_integration_token(session: Session, clock: Clock, actor: Actor, label: str = "") -> IssuedIntegrationToken:
    actor.require(Role.MANAGER)
    secret = INTEGRATION_PREFIX + secrets.token_urlsafe(32)
    token = IntegrationToken(
        clinic_id=actor.clinic_id,
        token_hash=hash_token(secret),
        hint=secret[:10],
        label=label[:100],
        created_by_id=actor.staff_id,
        created_at=clock.now(),
    )
    session.add(token)
    session.commit()
    return IssuedIntegrationToken(token=token, secret=secret)


def list_integration_tokens(session: Session, actor: Actor) -> list[IntegrationToken]:
    actor.require(Role.MANAGER)
    stmt = (
        sa.select(IntegrationToken).where(IntegrationToken.clinic_id == actor.clinic_id).order_by(IntegrationToken.id)
    )
    return list(session.scalars(stmt))


def revoke_integration_token(session: Session, clock: Clock, actor: Actor, token_id: int) -> IntegrationToken:
    actor.require(Role.MANAGER)
    token = session.get(IntegrationToken, token_id)
    if token is None or token.clinic_id != actor.clinic_id:
        raise NotFound("integration token", token_id)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    session.commit()
    return token


def authenticate_integration(session: Session, secret: str) -> Actor:
    """The system actor of the clinic an integration token belongs to, or Unauthenticated."""
    clinic_id = session.scalar(
        sa.select(IntegrationToken.clinic_id).where(
            IntegrationToken.token_hash == hash_token(secret), IntegrationToken.revoked_at.is_(None)
        )
    )
    if clinic_id is None:
        raise Unauthenticated("the integration token is unknown or revoked")
    return Actor.system(clinic_id)


def issue_ehr_secret(session: Session, clock: Clock, actor: Actor) -> str:
    """A new secret for the clinic's EHR notifications, returned this once; it replaces the one before."""
    actor.require(Role.MANAGER)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    row = session.get(EhrLink, actor.clinic_id, with_for_update=True)
    if row is None:
        session.add(EhrLink(clinic_id=actor.clinic_id, secret=secret, issued_at=clock.now()))
    else:
        row.secret, row.issued_at = secret, clock.now()
    session.commit()
    return secret


def ehr_secret(session: Session, clinic_id: int) -> str | None:
    return session.scalar(sa.select(EhrLink.secret).where(EhrLink.clinic_id == clinic_id))


def first_sighting(session: Session, clock: Clock, clinic_id: int, webhook_id: str) -> bool:
    """Record a notification's id; False when it was seen already (a replay). Flushed in a savepoint, so the
    caller's work and this record commit together."""
    seen = sa.select(EhrNotification.id).where(
        EhrNotification.clinic_id == clinic_id, EhrNotification.webhook_id == webhook_id
    )
    if session.scalar(seen) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(EhrNotification(clinic_id=clinic_id, webhook_id=webhook_id, received_at=clock.now()))
    except IntegrityError:  # the same notification, delivered twice at once
        return False
    return True


def known_ref(session: Session, clinic_id: int, resource_type: str, fhir_id: str) -> str | None:
    """The ref a resource of the EHR's (``Patient/123``) landed under, if one did."""
    return session.scalar(
        sa.select(EhrResourceId.ref).where(
            EhrResourceId.clinic_id == clinic_id,
            EhrResourceId.resource_type == resource_type,
            EhrResourceId.fhir_id == fhir_id,
        )
    )


def remember_refs(session: Session, clinic_id: int, landed: Iterable[tuple[str, str, str]]) -> None:
    """Keep (resource type, FHIR id, ref) of what landed, in the caller's transaction (flushed, not committed)."""
    wanted = {(kind, fhir_id): ref for kind, fhir_id, ref in landed if len(fhir_id) <= 64 and len(kind) <= 40}
    kinds = {kind for kind, _id in wanted}
    for kind in kinds:
        ids = [fhir_id for k, fhir_id in wanted if k == kind]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.scalars(
                sa.select(EhrResourceId).where(
                    EhrResourceId.clinic_id == clinic_id,
                    EhrResourceId.resource_type == kind,
                    EhrResourceId.fhir_id.in_(chunk),
                )
            )
            held = {row.fhir_id: row for row in rows}
            for fhir_id in chunk:
                ref = wanted[(kind, fhir_id)]
                if fhir_id in held:
                    held[fhir_id].ref = ref
                else:
                    session.add(EhrResourceId(clinic_id=clinic_id, resource_type=kind, fhir_id=fhir_id, ref=ref))
    session.flush()
