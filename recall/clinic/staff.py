"""Staff members of a clinic and their personal API tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.actors import STAFF_ROLES, Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.common.errors import Forbidden, NotFound, Unauthenticated, ValidationError

TOKEN_PREFIX = "rcl_"


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, "staff_role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The console (recall.clinic.signin): an Argon2 hash once an invite is accepted, the failures that slow
    # down and lock further sign-ins, and the language the console speaks to this person.
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    failed_signins: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(sa.String(5), default="en", server_default="en")
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the EHR's name for this person (recall.imports)

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "email", name="uq_staff_clinic_email"),
        sa.UniqueConstraint("clinic_id", "external_ref", name="uq_staff_clinic_external_ref"),
    )


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, to tell tokens apart in a list without revealing them.
    hint: Mapped[str] = mapped_column(sa.String(12))
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    # Tokens are 256 random bits, so a fast hash is as safe as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_staff(
    session: Session, clock: Clock, actor: Actor, *, name: str, role: Role, email: str | None = None
) -> Staff:
    actor.require(Role.MANAGER, Role.SYSTEM)
    clinic_id = actor.clinic_id
    if not name.strip():
        raise ValidationError("must not be empty", field="name")
    if role not in STAFF_ROLES:  # the system acts for a clinic; nobody on its staff holds that role
        raise ValidationError(f"must be one of {', '.join(r.value for r in STAFF_ROLES)}", field="role")
    staff = Staff(
        clinic_id=clinic_id, name=name.strip(), email=(email or None), role=role, active=True, created_at=clock.now()
    )
    session.add(staff)
    session.commit()
    return staff


def get_staff(session: Session, clinic_id: int, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.clinic_id != clinic_id:
        raise NotFound("staff member", staff_id)
    return staff


def list_staff(clinic_id: int, *, role: Role | None = None, active: bool | None = None) -> sa.Select[Staff]:
    stmt = sa.select(Staff).where(Staff.clinic_id == clinic_id).order_by(Staff.id)
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    if active is not None:
        stmt = stmt.where(Staff.active == active)
    return stmt


def update_staff(
    session: Session, actor: Actor, staff_id: int, *, name: str | None = None, active: bool | None = None
) -> Staff:
    actor.require(Role.MANAGER, Role.SYSTEM)
    staff = get_staff(session, actor.clinic_id, staff_id)
    if name is not None:
        if not name.strip():
            raise ValidationError("must not be empty", field="name")
        staff.name = name.strip()
    if active is not None:
        if not active and staff.id == actor.staff_id:
            raise ValidationError("you cannot deactivate yourself", field="active")
        staff.active = active
    session.commit()
    return staff


def issue_token(session: Session, clock: Clock, staff: Staff, label: str = "") -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        staff_id=staff.id, token_hash=hash_token(secret), hint=secret[:10], label=label[:100], created_at=clock.now()
    )
    session.add(token)
    session.commit()
    return IssuedToken(token=token, secret=secret)


def list_tokens(session: Session, staff: Staff) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id)))


def revoke_token(session: Session, clock: Clock, actor: Actor, staff_id: int, token_id: int) -> ApiToken:
    """A manager revokes any token of their clinic; anyone may revoke their own."""
    if staff_id != actor.staff_id and not actor.is_manager:
        raise Forbidden("only a manager may revoke another staff member's token")
    staff = get_staff(session, actor.clinic_id, staff_id)
    token = session.get(ApiToken, token_id)
    if token is None or token.staff_id != staff.id:
        raise NotFound("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    session.commit()
    return token


# Built once: every request under /api/v1 runs it, and building it cost more CPU than running it.
_ACTOR = (
    sa.select(Staff.id, Staff.clinic_id, Staff.role)
    .join(ApiToken, ApiToken.staff_id == Staff.id)
    .where(ApiToken.token_hash == sa.bindparam("hash"), ApiToken.revoked_at.is_(None), Staff.active.is_(True))
)


def authenticate(session: Session, secret: str) -> Actor:
    """The actor behind a bearer token, or Unauthenticated."""
    if not secret.startswith(TOKEN_PREFIX):
        raise Unauthenticated("the bearer token is not a recall token")
    row = session.execute(_ACTOR, {"hash": hash_token(secret)}).first()
    if row is None:
        raise Unauthenticated("the token is unknown, revoked, or belongs to an inactive staff member")
    return Actor(staff_id=row.id, clinic_id=row.clinic_id, role=row.role)
