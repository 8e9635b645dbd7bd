"""Reading the front desk's forms at the edge: ids, texts, a local day and time in the clinic's zone, and the
domain's field messages placed beside the form's own fields.

Each reader raises the domain's ``ValidationError`` naming the form's field, so a view shows every bad input
the same way: beside the field, with a 4xx status, nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from recall.common.errors import Conflict, RecallError, ValidationError
from recall.common.text import UNSTORABLE
from recall.common.timeutil import at_local, parse_hhmm, zone
from recall.web.common import EARLIEST_DAY, LATEST_DAY, MAX_ID, session
from recall.web.console.pages import field_errors

Form = Mapping[str, str]


def text(form: Form, name: str, max_length: int = 500) -> str | None:
    """The field's text, stripped; None when empty."""
    value = (form.get(name) or "").strip()
    if not value:
        return None
    if UNSTORABLE.search(value):
        raise ValidationError(_("must not contain NUL or unpaired surrogate characters"), field=name)
    if len(value) > max_length:
        raise ValidationError(_("must be at most %(n)s characters", n=max_length), field=name)
    return value


def ident(form: Form, name: str, required: bool = False) -> int | None:
    """A chosen id (a select's value); None when nothing is chosen."""
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            raise ValidationError(_("is required"), field=name)
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise ValidationError(_("is not a valid choice"), field=name)
    return int(value)


def day_of(value: str | None, name: str, required: bool = False) -> date | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError(_("is required"), field=name)
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("must be a date (YYYY-MM-DD)"), field=name) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(
            _("must be between %(low)s and %(high)s", low=EARLIEST_DAY.isoformat(), high=LATEST_DAY.isoformat()),
            field=name,
        )
    return day


def local_instant(form: Form, day_field: str, time_field: str, zone_name: str) -> datetime:
    """The UTC instant of the day and wall-clock time typed, read in the clinic's zone."""
    day = day_of(form.get(day_field), day_field, required=True)
    assert day is not None
    raw = (form.get(time_field) or "").strip()
    if not raw:
        raise ValidationError(_("is required"), field=time_field)
    try:
        minutes = parse_hhmm(raw, time_field)
    except ValidationError:
        raise ValidationError(_("must be a time of day as HH:MM"), field=time_field) from None
    if minutes >= 24 * 60:
        raise ValidationError(_("must be a time of day as HH:MM"), field=time_field)
    return at_local(day, minutes, zone_name)


def local_iso(instant: datetime, zone_name: str) -> str:
    """An instant as a CSV cell: ISO 8601 in the clinic's zone, with its offset (what the desk's clock said)."""
    return instant.astimezone(zone(zone_name)).isoformat()


def failed(error: RecallError, known: Iterable[str], rename: dict[str, str] | None = None) -> tuple[dict, int]:
    """After a refused write: the transaction rolled back, and the domain's messages under the form's fields
    (a message naming no field of this form goes on top of the form); with the status to answer."""
    session().rollback()
    errors = field_errors(error, rename)
    names = set(known)
    placed: dict[str, list[str]] = {}
    for name, messages in errors.items():
        placed.setdefault(name if name in names else "_form", []).extend(messages)
    return placed, 409 if isinstance(error, Conflict) else 422


def values(form: Form) -> dict[str, Any]:
    """What was typed, to fill the form again after a refusal."""
    return {key: form.get(key, "") for key in form}
