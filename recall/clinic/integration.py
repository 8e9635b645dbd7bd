"""A clinic's wiring to its CRM: the secret that signs launch links, and the origins that may frame the console.

Launch links (issued by the CRM, checked here) open the console for one staff member: an HMAC-SHA256 over the
clinic, the staff member, the expiry and a nonce, with the clinic's launch secret; each is used once
(``launch_nonces``). The manager rotates the secret; the previous one keeps working for ``GRACE`` so that the
CRM can switch (rotating again within it drops the older one). The secret is stored as it is, since checking an
HMAC needs it; the manager sees it once, when it is made.

How a CRM builds a link (``sign_launch`` does exactly this)::

    expires = unix time in whole seconds, at most LAUNCH_LIFETIME (2 minutes) ahead
    nonce   = 16 to 100 random characters of A-Z a-z 0-9 _ -, never used before
    message = f"{clinic_id}.{staff_id}.{expires}.{nonce}"           (ASCII)
    sig     = hex(HMAC-SHA256(key=launch_secret (UTF-8), msg=message))
    link    = https://<recall>/console/launch?clinic=..&staff=..&expires=..&nonce=..&sig=..

A link that is malformed, badly signed, expired, reused, for a staff member of another clinic or an inactive
one is refused with the same answer (``LaunchRefused``); the reason goes only to the log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.signin import SessionVia, SignedIn, open_session
from recall.clinic.staff import Staff
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime
from recall.common.errors import Conflict, Unauthenticated, ValidationError

GRACE = timedelta(hours=24)  # the previous secret still verifies this long after a rotation
LAUNCH_LIFETIME = timedelta(minutes=2)  # the furthest ahead a link's expiry may be
CLOCK_SKEW = timedelta(seconds=30)  # the CRM's clock may run this far ahead of ours
MAX_ORIGINS = 10
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,100}")
_SIG = re.compile(r"[0-9a-f]{64}")
_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


class ClinicIntegration(Base):
    __tablename__ = "clinic_integrations"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    launch_secret: Mapped[str | None] = mapped_column(sa.String(200))
    previous_launch_secret: Mapped[str | None] = mapped_column(sa.String(200))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Space-separated origins (https://crm.example.com) for CSP frame-ancestors; empty: nobody may frame it.
    frame_ancestors: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")


class LaunchNonce(Base):
    __tablename__ = "launch_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    nonce: Mapped[str] = mapped_column(sa.String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("clinic_id", "nonce", name="uq_launch_nonce"),)


class BadOrigins(ValidationError):
    """The frame origins given are refused: ``origin`` is the first one that is not an origin (None: too many)."""

    def __init__(self, message: str, field: str, origin: str | None = None):
        super().__init__(message, field=field)
        self.origin = origin


class LaunchRefused(Unauthenticated):
    """A launch link that does not open the console; ``reason`` is for the log, never for the answer."""

    def __init__(self, reason: str):
        super().__init__("this launch link is not valid: open the console from your CRM again")
        self.reason = reason


@dataclass(frozen=True)
class IntegrationState:
    """What a manager sees of the wiring (never the secrets themselves)."""

    has_launch_secret: bool
    rotated_at: datetime | None
    previous_valid_until: datetime | None  # the previous secret still verifies until then; None: it does not
    frame_origins: list[str]


def get_integration(session: Session, clinic_id: int) -> ClinicIntegration | None:
    return session.get(ClinicIntegration, clinic_id)


def integration_state(session: Session, clock: Clock, actor: Actor) -> IntegrationState:
    actor.require(Role.MANAGER, Role.SYSTEM)
    row = get_integration(session, actor.clinic_id)
    if row is None:
        return IntegrationState(False, None, None, [])
    until = row.rotated_at + GRACE if row.rotated_at is not None and row.previous_launch_secret else None
    return IntegrationState(
        has_launch_secret=bool(row.launch_secret),
        rotated_at=row.rotated_at,
        previous_valid_until=until if until is not None and until > clock.now() else None,
        frame_origins=(row.frame_ancestors or "").split(),
    )


def _own_row(session: Session, clinic_id: int) -> ClinicIntegration:
    row = session.scalar(sa.select(ClinicIntegration).where(ClinicIntegration.clinic_id == clinic_id).with_for_update())
    if row is None:
        row = ClinicIntegration(clinic_id=clinic_id, frame_ancestors="")
        session.add(row)
    return row


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:  # another manager made the clinic's row at the same moment
        session.rollback()
        raise Conflict("the CRM settings changed at the same time: try again") from None


def rotate_launch_secret(session: Session, clock: Clock, actor: Actor) -> str:
    """A new launch secret for the manager's clinic, returned this once; the one before keeps verifying for
    ``GRACE``."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    row = _own_row(session, actor.clinic_id)
    secret = secrets.token_urlsafe(32)
    row.previous_launch_secret, row.launch_secret = row.launch_secret, secret
    row.rotated_at = clock.now()
    _commit(session)
    return secret


def parse_origins(text: str, *, field: str = "frame_origins") -> list[str]:
    """Exact https origins (``https://crm.example.com`` or with a port), one per line or space-separated;
    duplicates dropped, the order kept. Anything else (a path, a wildcard, http, a keyword) is refused."""
    origins: list[str] = []
    for item in text.replace(",", " ").split():
        origin = _origin(item)
        if origin is None:
            shown = item[:100]
            raise BadOrigins(f"{shown!r} is not an origin such as https://crm.example.com", field, shown)
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise BadOrigins(f"may list at most {MAX_ORIGINS} origins", field)
    return origins


def _origin(item: str) -> str | None:
    try:
        parts = urlsplit(item)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or parts.username or parts.password or parts.query or parts.fragment:
        return None
    if parts.path not in ("", "/") or not _HOST.fullmatch(host) or "[" in parts.netloc:
        return None
    return f"https://{host}" + (f":{port}" if port is not None and port != 443 else "")


def set_frame_origins(session: Session, actor: Actor, text: str) -> list[str]:
    """The origins that may frame the clinic's console (CSP frame-ancestors); empty: none may."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    origins = parse_origins(text)
    row = _own_row(session, actor.clinic_id)
    row.frame_ancestors = " ".join(origins)
    _commit(session)
    return origins


def frame_origins(session: Session, clinic_id: int) -> list[str]:
    row = get_integration(session, clinic_id)
    return (row.frame_ancestors or "").split() if row is not None else []


def _message(clinic_id: int, staff_id: int, expires: int, nonce: str) -> bytes:
    return f"{clinic_id}.{staff_id}.{expires}.{nonce}".encode("ascii")


def _signature(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_launch(
    secret: str, clinic_id: int, staff_id: int, expires_at: datetime, nonce: str | None = None
) -> dict[str, str]:
    """A launch link's query parameters, as a CRM makes them (``launch_query`` joins them)."""
    nonce = nonce or secrets.token_urlsafe(18)
    expires = int(expires_at.timestamp())
    sig = _signature(secret, _message(clinic_id, staff_id, expires, nonce))
    return {"clinic": str(clinic_id), "staff": str(staff_id), "expires": str(expires), "nonce": nonce, "sig": sig}


def launch_query(params: Mapping[str, str]) -> str:
    return urlencode(params)


def _number(params: Mapping[str, str], name: str, most: int) -> int:
    value = params.get(name) or ""
    if not value.isascii() or not value.isdigit() or len(value) > 12 or not 0 < int(value) <= most:
        raise LaunchRefused(f"{name} is not a number in range")
    return int(value)


def verify_launch(session: Session, clock: Clock, params: Mapping[str, str]) -> Staff:
    """The active staff member a launch link opens the console for; its nonce is recorded (flushed, not
    committed: ``launch`` commits it with the session). ``LaunchRefused`` otherwise."""
    clinic_id, staff_id = _number(params, "clinic", MAX_ID), _number(params, "staff", MAX_ID)
    expires = _number(params, "expires", 2**36)  # a date Python can hold
    nonce, sig = params.get("nonce") or "", (params.get("sig") or "").lower()
    if not _NONCE.fullmatch(nonce) or not _SIG.fullmatch(sig):
        raise LaunchRefused("the nonce or the signature is malformed")
    now = clock.now()
    row = get_integration(session, clinic_id)
    keys = [] if row is None else [row.launch_secret]
    if row is not None and row.rotated_at is not None and row.rotated_at + GRACE > now:
        keys.append(row.previous_launch_secret)
    message = _message(clinic_id, staff_id, expires, nonce)
    matches = [hmac.compare_digest(_signature(key, message), sig) for key in keys if key]
    if not any(matches):
        raise LaunchRefused("the signature does not match the clinic's secret")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at <= now:
        raise LaunchRefused("the link expired")
    if expires_at > now + LAUNCH_LIFETIME + CLOCK_SKEW:
        raise LaunchRefused("the link lives longer than a launch link may")
    staff = session.get(Staff, staff_id)
    if staff is None or staff.clinic_id != clinic_id or not staff.active:
        raise LaunchRefused("the staff member is not an active member of the clinic")
    session.execute(sa.delete(LaunchNonce).where(LaunchNonce.clinic_id == clinic_id, LaunchNonce.expires_at <= now))
    session.add(LaunchNonce(clinic_id=clinic_id, nonce=nonce, expires_at=expires_at))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise LaunchRefused("the link was used already") from None
    return staff


def launch(session: Session, clock: Clock, params: Mapping[str, str]) -> SignedIn:
    """Verify a launch link and open the member's console session (nonce and session in one commit)."""
    staff = verify_launch(session, clock, params)
    return open_session(session, clock, staff, SessionVia.LAUNCH)
