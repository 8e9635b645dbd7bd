"""A clinic's own Twilio account (or subaccount): its Account SID, and its auth token sealed at rest.

Why it is built this way:

* Clinics bring their own accounts. A clinic with one sends through it, its webhooks are signed with its
  token, and every webhook acting on it must name its Account SID; a clinic without one uses the
  service-wide account, as before. The account is the clinic's, not the policy's: it is who pays and whose
  numbers they are, and changing it is not a new policy version.
* The auth token is sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key from the
  environment, ``TWILIO_CREDENTIALS_KEY``: a database dump or backup alone does not give the token away.
  Several comma-separated keys may be given to rotate: the first seals, any of them opens. Without a key no
  token can be stored, and a stored one cannot be used (its sends and webhooks are refused, and say why).
* The token is write-only: nothing here returns it to the API; only the sender and the webhook check open it.
* One clinic per Account SID (a unique constraint), so an account names exactly one token and one clinic,
  and the service-wide SID is never a clinic's own: a webhook's ``AccountSid`` is then unambiguous.
* No Flask, no Twilio SDK here: the web package and ``integrations.twilio`` call these.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.db import Database
from recall.common.errors import Conflict, ValidationError

log = logging.getLogger(__name__)

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
AUTH_TOKEN = re.compile(r"[0-9A-Za-z]{32,64}")  # Twilio's are 32 hex digits; room for what else it may issue
FIELDS = ("twilio_account_sid", "twilio_auth_token")


class Sealer:
    """Seals and opens auth tokens with the service's key(s); see the module's docstring."""

    def __init__(self, keys: str) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError):
            raise ValueError(
                "TWILIO_CREDENTIALS_KEY must be one or more comma-separated Fernet keys "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None

    @classmethod
    def from_setting(cls, keys: str | None) -> Sealer | None:
        return cls(keys) if keys and keys.strip() else None

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The token, or None when no key given opens it (a key was rotated out): logged, never raised."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            log.warning("a clinic's sealed Twilio auth token opens with none of the configured keys")
            return None


def account_of(session: Session, clinic_id: int) -> str | None:
    """The clinic's own Account SID; None: it uses the service-wide account."""
    return session.scalar(sa.select(Clinic.twilio_account_sid).where(Clinic.id == clinic_id))


def token_for(session: Session, sealer: Sealer | None, account_sid: str) -> str | None:
    """The auth token of a clinic's own account, opened; None when no clinic has it or it cannot be opened."""
    sealed = session.scalar(sa.select(Clinic.twilio_auth_token_sealed).where(Clinic.twilio_account_sid == account_sid))
    if sealed is None:
        return None
    if sealer is None:
        log.warning("a clinic has its own Twilio account but TWILIO_CREDENTIALS_KEY is not set: it cannot be used")
        return None
    return sealer.open(sealed)


def token_lookup(database: Database, sealer: Sealer | None) -> Callable[[str], str | None]:
    """``token_for`` in a read transaction of its own, for the sender (which holds no session)."""

    def lookup(account_sid: str) -> str | None:
        with database.reader() as session:
            return token_for(session, sealer, account_sid)

    return lookup


def apply_account(
    session: Session, clinic_id: int, changes: dict[str, Any], *, sealer: Sealer | None, service_account_sid: str | None
) -> None:
    """A manager's edit of the clinic's own account, applied to the session (the clinic's update commits it).

    ``twilio_account_sid`` with ``twilio_auth_token`` sets or replaces the account; the token alone rotates the
    current account's; ``twilio_account_sid: null`` goes back to the service-wide account and forgets the token.
    """
    if not any(name in changes for name in FIELDS):
        return
    clinic = session.get(Clinic, clinic_id)
    assert clinic is not None  # the caller's own clinic
    sid, token = changes.get("twilio_account_sid", clinic.twilio_account_sid), changes.get("twilio_auth_token")
    if "twilio_account_sid" in changes and sid is None:
        if token is not None:
            raise ValidationError("must be left out when twilio_account_sid is null", field="twilio_auth_token")
        clinic.twilio_account_sid = clinic.twilio_auth_token_sealed = None
        return
    if sid is None:
        raise ValidationError("is required with twilio_auth_token", field="twilio_account_sid")
    if not ACCOUNT_SID.fullmatch(sid):
        raise ValidationError("must be an Account SID: AC and 32 hex digits", field="twilio_account_sid")
    if service_account_sid and sid.lower() == service_account_sid.lower():
        raise ValidationError("is the service-wide account; leave it null to use that", field="twilio_account_sid")
    if token is None and sid != clinic.twilio_account_sid:
        raise ValidationError("is required with a new twilio_account_sid", field="twilio_auth_token")
    if token is not None and not AUTH_TOKEN.fullmatch(token):
        raise ValidationError(
            "must be the account's auth token: 32 to 64 letters and digits", field="twilio_auth_token"
        )
    if token is not None and sealer is None:
        raise ValidationError(
            "cannot be stored: the service has no TWILIO_CREDENTIALS_KEY to seal it with", field="twilio_auth_token"
        )
    other = session.scalar(sa.select(Clinic.id).where(Clinic.twilio_account_sid == sid, Clinic.id != clinic.id))
    if other is not None:
        raise Conflict("another clinic already uses this Twilio account", field="twilio_account_sid")
    if token is not None:
        assert sealer is not None
        clinic.twilio_auth_token_sealed = sealer.seal(token)
    clinic.twilio_account_sid = sid
