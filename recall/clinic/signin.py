"""Signing in to the console: passwords set through one-time links, failures that slow down and lock, and
the server-side sessions a browser's cookie names.

A manager invites a staff member (or resets one): the link carries a random secret, stored as its SHA-256,
valid once and for a limited time. Accepting it sets the password, hashed with Argon2id (memory-hard). Each
failed sign-in makes the next one wait longer; after ``LOCK_AFTER`` failures in a row the account locks for
``LOCK_FOR`` (a manager's reset unlocks it at once). A session is a row: sign-out, a reset or deactivation
ends it on the server, whatever the browser keeps.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.patients import Language
from recall.clinic.staff import Staff, get_staff
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import RateLimited, Unauthenticated, ValidationError

INVITE_VALID_FOR = timedelta(days=7)
RESET_VALID_FOR = timedelta(hours=24)
SESSION_LASTS = timedelta(hours=12)
MIN_PASSWORD = 10
SLOW_AFTER = 3  # failures before each further attempt must wait
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=30)
MAX_WAIT = timedelta(minutes=2)

_hasher = PasswordHasher()  # Argon2id, 64 MiB, 3 passes: argon2-cffi's defaults (RFC 9106's second choice)
# Checked when nobody has the email given, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LinkKind(str, Enum):
    INVITE = "invite"
    RESET = "reset"


class SessionVia(str, Enum):
    PASSWORD = "password"
    LAUNCH = "launch"  # opened by the clinic's CRM through a signed launch link


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    via: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffLink(Base):
    __tablename__ = "staff_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class IssuedLink:
    link: StaffLink
    secret: str  # goes into the URL given to the staff member; never stored


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    secret: str  # the cookie's value; never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_link(session: Session, clock: Clock, actor: Actor, staff_id: int, kind: LinkKind) -> IssuedLink:
    """A manager's invite (or reset) link for a staff member of their clinic. A reset also unlocks the account
    and ends its sessions; earlier unused links of the member stop working."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    staff = get_staff(session, actor.clinic_id, staff_id)
    if not staff.active:
        raise ValidationError("is not active: reactivate the staff member first", field="staff_id")
    if not staff.email:
        raise ValidationError("has no email to sign in with: set one first", field="staff_id")
    now = clock.now()
    session.execute(
        sa.update(StaffLink).where(StaffLink.staff_id == staff.id, StaffLink.used_at.is_(None)).values(used_at=now)
    )
    if kind is LinkKind.RESET:
        staff.failed_signins, staff.locked_until = 0, None
        _end_sessions(session, staff.id, now)
    secret = secrets.token_urlsafe(32)
    link = StaffLink(
        staff_id=staff.id,
        kind=kind.value,
        token_hash=_digest(secret),
        created_by_id=actor.staff_id,
        created_at=now,
        expires_at=now + (INVITE_VALID_FOR if kind is LinkKind.INVITE else RESET_VALID_FOR),
    )
    session.add(link)
    session.commit()
    return IssuedLink(link=link, secret=secret)


def _live_link(session: Session, clock: Clock, secret: str) -> StaffLink:
    link = session.scalar(sa.select(StaffLink).where(StaffLink.token_hash == _digest(secret)))
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        raise Unauthenticated("this link is unknown, used or expired: ask your manager for a new one")
    return link


def link_holder(session: Session, clock: Clock, secret: str) -> Staff:
    """Whom a live invite or reset link is for (the page that sets a password greets them)."""
    link = _live_link(session, clock, secret)
    return session.get_one(Staff, link.staff_id)


def check_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"must be at least {MIN_PASSWORD} characters", field=field)
    if len(password) > 1000:
        raise ValidationError("must be at most 1000 characters", field=field)
    if not password.strip():
        raise ValidationError("must not be only spaces", field=field)


def accept_link(session: Session, clock: Clock, secret: str, password: str) -> SignedIn:
    """Set the password through a live link (used up), and sign in."""
    link = _live_link(session, clock, secret)
    check_password(password)
    staff = session.get_one(Staff, link.staff_id)
    if not staff.active:
        raise Unauthenticated("this account is not active")
    now = clock.now()
    link.used_at = now
    staff.password_hash = _hasher.hash(password)
    staff.failed_signins, staff.locked_until, staff.last_failed_at = 0, None, None
    return _open(session, now, staff, SessionVia.PASSWORD)


def sign_in(session: Session, clock: Clock, email: str, password: str, *, clinic_id: int | None = None) -> SignedIn:
    """The console session of the active staff member with this email and password.

    A wrong email and a wrong password read the same. Failures in a row make the next attempt wait (429 with
    the seconds to wait), then lock the account for ``LOCK_FOR``; a success clears them."""
    email = email.strip()
    if not email:
        raise ValidationError("must not be empty", field="email")
    if not password:
        raise ValidationError("must not be empty", field="password")
    stmt = sa.select(Staff).where(
        sa.func.lower(Staff.email) == email.lower(), Staff.active.is_(True), Staff.password_hash.is_not(None)
    )
    if clinic_id is not None:
        stmt = stmt.where(Staff.clinic_id == clinic_id)
    candidates = list(session.scalars(stmt.order_by(Staff.id).with_for_update()))
    now = clock.now()
    if not candidates:
        _verifies(_DUMMY_HASH, password)
        raise Unauthenticated("the email or the password is wrong")
    if len(candidates) > 1:
        raise ValidationError("is used at several clinics: sign in through your clinic's own link", field="email")
    staff = candidates[0]
    _refuse_while_waiting(staff, now)
    if not _verifies(staff.password_hash or _DUMMY_HASH, password):
        staff.failed_signins += 1
        staff.last_failed_at = now
        if staff.failed_signins >= LOCK_AFTER:
            staff.locked_until = now + LOCK_FOR
        session.commit()
        raise Unauthenticated("the email or the password is wrong")
    if _hasher.check_needs_rehash(staff.password_hash or ""):
        staff.password_hash = _hasher.hash(password)
    staff.failed_signins, staff.locked_until, staff.last_failed_at = 0, None, None
    return _open(session, now, staff, SessionVia.PASSWORD)


def _verifies(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def wait_before_next(staff: Staff, now: datetime) -> timedelta:
    """How long this member must wait before another sign-in is tried (zero: now)."""
    if staff.locked_until is not None and staff.locked_until > now:
        return staff.locked_until - now
    if staff.failed_signins < SLOW_AFTER or staff.last_failed_at is None:
        return timedelta(0)
    wait = min(timedelta(seconds=2 ** (staff.failed_signins - SLOW_AFTER)), MAX_WAIT)
    return max(timedelta(0), staff.last_failed_at + wait - now)


def _refuse_while_waiting(staff: Staff, now: datetime) -> None:
    wait = wait_before_next(staff, now)
    if wait > timedelta(0):
        seconds = max(1, int(wait.total_seconds() + 0.999))
        locked = staff.locked_until is not None and staff.locked_until > now
        what = "this account is locked after repeated failures" if locked else "too many failed sign-ins"
        error = RateLimited(f"{what}: try again in {seconds} s")
        error.retry_after = seconds  # type: ignore[attr-defined]
        raise error


def open_session(session: Session, clock: Clock, staff: Staff, via: SessionVia) -> SignedIn:
    """A console session for a member already proven (a launch link); committed."""
    if not staff.active:
        raise Unauthenticated("this account is not active")
    return _open(session, clock.now(), staff, via)


def _open(session: Session, now: datetime, staff: Staff, via: SessionVia) -> SignedIn:
    secret = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            staff_id=staff.id,
            token_hash=_digest(secret),
            via=via.value,
            created_at=now,
            expires_at=now + SESSION_LASTS,
        )
    )
    session.commit()
    return SignedIn(actor=Actor(staff_id=staff.id, clinic_id=staff.clinic_id, role=staff.role), secret=secret)


def session_actor(session: Session, clock: Clock, secret: str) -> tuple[Actor, str]:
    """The actor a live console session belongs to, with their console language; Unauthenticated otherwise."""
    row = session.execute(
        sa.select(Staff.id, Staff.clinic_id, Staff.role, Staff.language)
        .join(ConsoleSession, ConsoleSession.staff_id == Staff.id)
        .where(
            ConsoleSession.token_hash == _digest(secret),
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > clock.now(),
            Staff.active.is_(True),
        )
    ).first()
    if row is None:
        raise Unauthenticated("your session has ended: sign in again")
    return Actor(staff_id=row.id, clinic_id=row.clinic_id, role=row.role), row.language


def sign_out(session: Session, clock: Clock, secret: str) -> None:
    session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.token_hash == _digest(secret), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    session.commit()


def _end_sessions(session: Session, staff_id: int, now: datetime) -> None:
    session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.staff_id == staff_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_language(session: Session, actor: Actor, language: str) -> Staff:
    """The console language of the caller: one of the patients' five."""
    try:
        chosen = Language(language)
    except ValueError:
        raise ValidationError(
            f"must be one of {', '.join(lang.value for lang in Language)}", field="language"
        ) from None
    staff = get_staff(session, actor.clinic_id, actor.member_id)
    staff.language = chosen.value
    session.commit()
    return staff
