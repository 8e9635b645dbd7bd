"""The outcome form's fields as the API's attempt body: times typed in local time (a callback in the patient's,
a booking in the clinic's), ids as numbers, then the API's own schema, so the desk accepts exactly what the API
does. Every problem comes back as the domain's ValidationError, naming the form's field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from recall.common.errors import RecallError, ValidationError
from recall.common.timeutil import zone
from recall.queue.attempts import MAX_DURATION_SECONDS, AttemptInput, Outcome
from recall.queue.desk import fields_for
from recall.web.common import EARLIEST_YEAR, LATEST_YEAR, MAX_ID
from recall.web.console.pages import field_errors
from recall.web.recall_tasks.schemas import AttemptCreateSchema

# The fields the desk shows, each with its message box; any other field's message goes above the form.
SHOWN = frozenset(
    {
        "outcome",
        "channel",
        "note",
        "decline_reason",
        "callback_at",
        "booking.provider_id",
        "booking.service_id",
        "booking.start_at",
        "move.start_at",
        "move.provider_id",
    }
)
# A booking's end follows from its service: its messages go beside its start.
BESIDE = {"booking.end_at": "booking.start_at", "move.end_at": "move.start_at", "outcome": "_form"}


def local_instant(value: str, zone_name: str, name: str) -> datetime:
    """A wall-clock time from a datetime-local input, in ``zone_name``, as a UTC instant."""
    try:
        typed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("must be a date and time", field=name) from None
    if not EARLIEST_YEAR <= typed.year <= LATEST_YEAR:
        raise ValidationError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}", field=name)
    if typed.tzinfo is None:
        typed = typed.replace(tzinfo=zone(zone_name))
    return typed.astimezone(UTC)


def _id(value: str, name: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValidationError("choose one from the list", field=name) from None
    if not 1 <= number <= MAX_ID:
        raise ValidationError("choose one from the list", field=name)
    return number


def _duration(form: Mapping[str, str], now: datetime) -> int:
    """Seconds since the card was shown (its hidden ``shown_at``), within the API's range."""
    try:
        shown = int(form.get("shown_at", ""))
    except ValueError:
        return 0
    return max(0, min(MAX_DURATION_SECONDS, int(now.timestamp()) - shown))


def _booking(form: Mapping[str, str], prefix: str, zone_name: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    booking: dict[str, Any] = {}
    for key in ("start_at", "provider_id", "service_id"):
        name = f"{prefix}.{key}"
        value = (form.get(name) or "").strip()
        if not value:
            continue
        try:
            if key == "start_at":
                booking[key] = local_instant(value, zone_name, name).isoformat()
            else:
                booking[key] = _id(value, name)
        except ValidationError as exc:
            errors.update(exc.fields)
    return booking


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    listed = messages if isinstance(messages, list) else [messages]
    return {prefix.rstrip("."): [str(m) for m in listed]}


def read_attempt(form: Mapping[str, str], *, clinic_zone: str, patient_zone: str, now: datetime) -> AttemptInput:
    """The attempt the form describes. The pressed button names the outcome; only that outcome's fields
    are read, so the other outcomes' fields may stay filled in."""
    try:
        outcome = Outcome(form.get("outcome", ""))
    except ValueError:
        raise ValidationError("choose one of the outcomes", field="outcome") from None
    needs = fields_for(outcome)
    errors: dict[str, list[str]] = {}
    payload: dict[str, Any] = {
        "outcome": outcome.value,
        "channel": form.get("channel") or "phone",
        "duration_seconds": _duration(form, now),
    }
    for name in ("note", "decline_reason"):
        value = (form.get(name) or "").strip()
        if value and (name == "note" or name in needs):
            payload[name] = value
    if "callback_at" in needs and (form.get("callback_at") or "").strip():
        try:
            payload["callback_at"] = local_instant(form["callback_at"], patient_zone, "callback_at").isoformat()
        except ValidationError as exc:
            errors.update(exc.fields)
    if "booking" in needs:
        prefix = "move" if outcome is Outcome.RESCHEDULED else "booking"
        booking = _booking(form, prefix, clinic_zone, errors)
        if booking or prefix == "booking":
            payload["booking"] = booking
    if errors:
        raise ValidationError("check the marked fields", fields=errors)
    try:
        return AttemptCreateSchema().load(payload)
    except ma.ValidationError as exc:
        raise ValidationError("check the marked fields", fields=_flatten(exc.messages)) from None


def attempt_errors(error: RecallError, outcome: str | None) -> dict[str, list[str]]:
    """The domain's messages beside the desk's fields: a reschedule's booking fields are the form's ``move.``
    ones; a message about a field the form does not show goes above it."""
    rename = dict(BESIDE)
    if outcome == Outcome.RESCHEDULED.value:
        rename.update({f"booking.{k}": f"move.{k}" for k in ("start_at", "end_at", "provider_id")})
        rename["booking"] = "move.start_at"
        rename["move.end_at"] = "move.start_at"
    elif outcome == Outcome.BOOKED.value:
        rename["booking"] = "booking.start_at"
    errors: dict[str, list[str]] = {}
    for name, messages in field_errors(error).items():
        name = rename.get(name, name)
        name = rename.get(name, name)
        if name not in SHOWN:
            messages = [m if name == "_form" else f"{name}: {m}" for m in messages]
            name = "_form"
        errors.setdefault(name, []).extend(messages)
    return errors
