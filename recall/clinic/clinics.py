"""Clinics and their settings: zone, phone region, recall timing, calling hours."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from babel.numbers import list_currencies
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.common.actors import Actor, Role
from recall.common.db import Base, UTCDateTime
from recall.common.errors import NotFound, ValidationError
from recall.common.phones import validate_region
from recall.common.timeutil import at_local, format_hhmm, parse_hhmm, validate_zone

DEFAULT_COOLING_OFF_HOURS = 72
DEFAULT_BACKOFF_MINUTES = [4 * 60, 24 * 60, 3 * 24 * 60]
# The recall queue's rules a manager may change: field -> (lowest, highest) allowed; None allowed where nullable.
QUEUE_RULES: dict[str, tuple[int, int]] = {
    "recall_lease_minutes": (1, 240),
    "recall_max_attempts": (1, 50),
    "recall_callback_hold_minutes": (0, 24 * 60),
    "surge_backlog": (1, 10_000_000),
    "surge_overdue_days": (1, 3650),
    "surge_overdue_tasks": (1, 10_000_000),
    # Privacy (recall.privacy.retention): the days SMS texts and webhook receipts are kept.
    "text_retention_days": (7, 3650),
}
NULLABLE_RULES = frozenset({"surge_backlog", "surge_overdue_days"})
HOLDOUT_MAX_PERCENT = 50
DEFAULT_TEXT_RETENTION_DAYS = 365


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    phone_region: Mapped[str] = mapped_column(sa.String(2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    recall_cooling_off_hours: Mapped[int] = mapped_column(default=DEFAULT_COOLING_OFF_HOURS)
    # Calling hours in minutes after local midnight, weekdays and weekend apart.
    calling_weekday_start: Mapped[int] = mapped_column(sa.SmallInteger, default=9 * 60)
    calling_weekday_end: Mapped[int] = mapped_column(sa.SmallInteger, default=20 * 60)
    calling_weekend_start: Mapped[int] = mapped_column(sa.SmallInteger, default=10 * 60)
    calling_weekend_end: Mapped[int] = mapped_column(sa.SmallInteger, default=16 * 60)
    # The recall queue: how long a claim lasts, when an unanswered patient is tried again and given up,
    # how long a requested callback stays with the operator who took it, and when the queue is in a surge.
    recall_lease_minutes: Mapped[int] = mapped_column(default=15)
    recall_max_attempts: Mapped[int] = mapped_column(default=5)
    recall_backoff_minutes: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: list(DEFAULT_BACKOFF_MINUTES))
    recall_callback_hold_minutes: Mapped[int] = mapped_column(default=60)
    surge_backlog: Mapped[int | None] = mapped_column()
    surge_overdue_days: Mapped[int | None] = mapped_column()
    surge_overdue_tasks: Mapped[int] = mapped_column(default=1)
    # The clinic's own Twilio account or subaccount (recall.clinic_accounts): its SID, and its auth token sealed
    # with the service's key. Both or neither; none: the service-wide account sends for it.
    twilio_account_sid: Mapped[str | None] = mapped_column(sa.String(34), unique=True)
    twilio_auth_token_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # The reminder holdout (recall.reminders.holdout): the whole percent of bookings held out from automated
    # reminders (0: off), whether they still get the policy's human calls, and the hash's salt, fixed when the
    # holdout is first switched on.
    reminder_holdout_percent: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    holdout_human_calls: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    reminder_holdout_salt: Mapped[str | None] = mapped_column(sa.String(32))
    text_retention_days: Mapped[int] = mapped_column(default=DEFAULT_TEXT_RETENTION_DAYS, server_default="365")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("recall_cooling_off_hours >= 0", name="cooling_off_non_negative"),
        sa.CheckConstraint("calling_weekday_start < calling_weekday_end", name="weekday_hours_order"),
        sa.CheckConstraint("calling_weekend_start < calling_weekend_end", name="weekend_hours_order"),
        sa.CheckConstraint(
            "(twilio_account_sid IS NULL) = (twilio_auth_token_sealed IS NULL)", name="twilio_account_whole"
        ),
        sa.CheckConstraint(
            "reminder_holdout_percent >= 0 AND reminder_holdout_percent <= 50", name="holdout_percent_range"
        ),
    )

    @property
    def has_own_twilio_account(self) -> bool:
        return self.twilio_account_sid is not None

    def calling_hours(self, weekend: bool) -> tuple[int, int]:
        if weekend:
            return self.calling_weekend_start, self.calling_weekend_end
        return self.calling_weekday_start, self.calling_weekday_end

    def backoff_after(self, failed_attempts: int) -> int:
        """Minutes until the next try after the given number of unanswered attempts (the last step repeats)."""
        steps = self.recall_backoff_minutes or DEFAULT_BACKOFF_MINUTES
        return steps[min(max(failed_attempts, 1), len(steps)) - 1]

    def first_calling_minute(self, day: date) -> datetime:
        """The UTC instant at which calling hours begin on ``day`` in the clinic's zone."""
        start, _ = self.calling_hours(weekend=day.weekday() >= 5)
        return at_local(day, start, self.timezone)


@dataclass(frozen=True)
class ClinicInput:
    name: str
    timezone: str
    phone_region: str
    currency: str = "EUR"


def validate_currency(code: str) -> str:
    code = (code or "").upper()
    if code not in list_currencies():
        raise ValidationError(
            f"'{code}' is not an ISO 4217 currency code (for example SEK, PLN, EUR)", field="currency"
        )
    return code


def _backoff(steps: Any) -> list[int]:
    if not isinstance(steps, list) or not 1 <= len(steps) <= 10:
        raise ValidationError("must be a list of 1 to 10 waits in minutes", field="recall_backoff_minutes")
    for i, step in enumerate(steps):
        if not isinstance(step, int) or isinstance(step, bool) or not 5 <= step <= 60 * 24 * 30:
            raise ValidationError(
                "must be a whole number of minutes between 5 and 43200", field=f"recall_backoff_minutes.{i}"
            )
    return list(steps)


def get_clinic(session: Session, clinic_id: int) -> Clinic:
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic", clinic_id)
    return clinic


def _holdout(clinic: Clinic, changes: dict[str, Any]) -> None:
    """The reminder holdout's share and its human calls. The salt of the hash that picks the held-out bookings
    is drawn once, when the holdout is first switched on, and kept: switching it off and on again keeps the
    same bookings on the same side."""
    if "reminder_holdout_percent" in changes:
        value = changes["reminder_holdout_percent"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= HOLDOUT_MAX_PERCENT:
            raise ValidationError(
                f"must be a whole percent between 0 and {HOLDOUT_MAX_PERCENT}", field="reminder_holdout_percent"
            )
        clinic.reminder_holdout_percent = value
        if value > 0 and clinic.reminder_holdout_salt is None:
            clinic.reminder_holdout_salt = secrets.token_hex(16)
    if "holdout_human_calls" in changes:
        if not isinstance(changes["holdout_human_calls"], bool):
            raise ValidationError("must be true or false", field="holdout_human_calls")
        clinic.holdout_human_calls = changes["holdout_human_calls"]


_HOURS_FIELDS = ("calling_weekday_start", "calling_weekday_end", "calling_weekend_start", "calling_weekend_end")


def update_clinic(session: Session, actor: Actor, changes: dict[str, Any]) -> Clinic:
    """Apply a manager's edit of name, zone, region, currency, cooling-off and calling hours."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    clinic = get_clinic(session, actor.clinic_id)
    if "name" in changes:
        if not str(changes["name"]).strip():
            raise ValidationError("must not be empty", field="name")
        clinic.name = changes["name"].strip()
    if "timezone" in changes:
        clinic.timezone = validate_zone(changes["timezone"])
    if "phone_region" in changes:
        clinic.phone_region = validate_region(changes["phone_region"])
    if "currency" in changes:
        clinic.currency = validate_currency(changes["currency"])
    if "recall_cooling_off_hours" in changes:
        hours = changes["recall_cooling_off_hours"]
        if not isinstance(hours, int) or not 0 <= hours <= 24 * 365:
            raise ValidationError(
                "must be a whole number of hours between 0 and 8760", field="recall_cooling_off_hours"
            )
        clinic.recall_cooling_off_hours = hours
    for name, (low, high) in QUEUE_RULES.items():
        if name in changes:
            value = changes[name]
            if value is None and name in NULLABLE_RULES:
                setattr(clinic, name, None)
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValidationError(f"must be a whole number between {low} and {high}", field=name)
            setattr(clinic, name, value)
    if "recall_backoff_minutes" in changes:
        clinic.recall_backoff_minutes = _backoff(changes["recall_backoff_minutes"])
    _holdout(clinic, changes)
    for name in _HOURS_FIELDS:
        if name in changes:
            setattr(clinic, name, parse_hhmm(changes[name], name))
    for kind in ("weekday", "weekend"):
        start, end = getattr(clinic, f"calling_{kind}_start"), getattr(clinic, f"calling_{kind}_end")
        if start >= end:
            raise ValidationError(
                f"must be after calling_{kind}_start ({format_hhmm(start)})", field=f"calling_{kind}_end"
            )
    session.commit()
    return clinic
