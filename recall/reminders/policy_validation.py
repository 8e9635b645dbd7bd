"""The validation of the manager's reminder policy document: untrusted JSON in, a ``PolicyDoc`` out.

``validate_policy`` checks the JSON itself and names every problem by its path (``steps.1.offset_minutes``,
``templates.sms.pl``), all at once, so the API, the CLI and the tests share one set of rules and bad input is
a 422, never a 500. Steps are stored earliest offset first, whatever order the manager sent. The document and
the pure planner live in ``recall.reminders.planning``; saving is ``recall.reminders.policy``.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from sqlalchemy.orm import Session

from recall.clinic.catalog import get_provider, get_service
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language
from recall.common.errors import NotFound, ValidationError
from recall.common.phones import to_e164
from recall.common.timeutil import format_hhmm, parse_hhmm
from recall.reminders.planning import (
    MAX_OFFSET,
    MAX_RATE,
    MAX_STEPS,
    MIN_OFFSET,
    MIN_RATE,
    TEMPLATE_CHANNELS,
    Channel,
    Fallback,
    Hours,
    OnMachine,
    Override,
    PolicyDoc,
    Sender,
    Step,
)
from recall.reminders.templates import (
    check_template,
    validate_template,
)

_HHMM = re.compile(r"([01]\d|2[0-4]):[0-5]\d")
_MG_SID = re.compile(r"MG[0-9a-fA-F]{32}")
MAX_OVERRIDES = 200


_REQUIRED = object()
_STEP_KEYS = ("offset_minutes", "channel", "run_if_confirmed", "routine", "fallback", "on_machine")
_TOP_KEYS = ("steps", "overrides", "hours", "templates", "show_provider", "sender", "rate_limits")


class _Problems:
    """Every problem found, by field path, so the manager fixes them all in one round."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def merge(self, exc: ValidationError) -> None:
        for path, messages in exc.fields.items():
            self.fields.setdefault(path, []).extend(messages)

    def value(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        kind: str,
        default: Any = _REQUIRED,
        low: float = 0,
        high: float = 0,
        choices: type[enum.Enum] | None = None,
    ) -> Any:
        """``obj[key]`` checked as ``kind`` ("int", "number", "bool", "choice"), or None after recording why."""
        if key not in obj:
            if default is _REQUIRED:
                self.add(path, "is required")
            return None if default is _REQUIRED else default
        raw = obj[key]
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            self.add(path, "must be true or false")
        elif kind == "choice" and choices is not None:
            allowed = [c.value for c in choices]
            if isinstance(raw, str) and raw in allowed:
                return choices(raw)
            self.add(path, "must be one of: " + ", ".join(allowed))
        elif isinstance(raw, bool) or not isinstance(raw, int if kind == "int" else (int, float)):
            self.add(path, "must be a whole number" if kind == "int" else "must be a number")
        elif not low <= raw <= high:  # also refuses NaN and infinities
            self.add(path, f"must be between {low:g} and {high:g}")
        else:
            return raw if kind == "int" else float(raw)
        return None


def _obj(p: _Problems, raw: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        p.add(path, "must be an object")
        return None
    for key in raw:
        if key not in keys:
            p.add(f"{path}.{key}" if path != "body" else str(key), "unknown field")
    return raw


def _steps(p: _Problems, raw: Any, path: str) -> tuple[Step, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_STEPS:
        p.add(path, f"must be a list of at most {MAX_STEPS} steps")
        return ()
    steps: list[Step] = []
    offsets: set[int | None] = set()
    for i, item in enumerate(raw):
        at, errors = f"{path}.{i}", len(p.fields)
        obj = _obj(p, item, at, _STEP_KEYS)
        if obj is None:
            continue
        offset = p.value(obj, "offset_minutes", f"{at}.offset_minutes", "int", low=MIN_OFFSET, high=MAX_OFFSET)
        channel = p.value(obj, "channel", f"{at}.channel", "choice", choices=Channel)
        confirmed = p.value(obj, "run_if_confirmed", f"{at}.run_if_confirmed", "bool", False)
        routine = p.value(obj, "routine", f"{at}.routine", "bool", True)
        fallback = p.value(obj, "fallback", f"{at}.fallback", "choice", Fallback.NONE, choices=Fallback)
        on_machine = p.value(obj, "on_machine", f"{at}.on_machine", "choice", OnMachine.FALLBACK, choices=OnMachine)
        if offset is not None and offset in offsets:
            p.add(f"{at}.offset_minutes", f"another step already runs {offset} minutes before")
        offsets.add(offset)
        if channel is not None and fallback is not None and fallback.value == channel.value:
            p.add(f"{at}.fallback", "must differ from the step's channel")
        if len(p.fields) == errors:
            steps.append(Step(offset, channel, confirmed, routine, fallback, on_machine))
    return tuple(sorted(steps, key=lambda s: -s.offset_minutes))


def _overrides(p: _Problems, session: Session, clinic: Clinic, raw: Any) -> tuple[Override, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_OVERRIDES:
        p.add("overrides", f"must be a list of at most {MAX_OVERRIDES} overrides")
        return ()
    result: list[Override] = []
    seen: set[tuple[str, int]] = set()
    for i, item in enumerate(raw):
        obj = _obj(p, item, f"overrides.{i}", ("service_id", "provider_id", "steps"))
        if obj is None:
            continue
        ids = {k: obj.get(k) for k in ("service_id", "provider_id") if obj.get(k) is not None}
        if len(ids) != 1:
            p.add(f"overrides.{i}.service_id", "give exactly one of service_id and provider_id")
        for key, ident in ids.items():
            path, what = f"overrides.{i}.{key}", key.removesuffix("_id")
            if isinstance(ident, bool) or not isinstance(ident, int) or not 1 <= ident <= 2**31 - 1:
                p.add(path, "must be a positive whole number")
                continue
            try:
                (get_service if what == "service" else get_provider)(session, clinic.id, ident)
            except NotFound:
                p.add(path, f"no {what} {ident} in this clinic")
            if (key, ident) in seen:
                p.add(path, f"a second override for {what} {ident}")
            seen.add((key, ident))
        steps = _steps(p, obj.get("steps"), f"overrides.{i}.steps") if "steps" in obj else ()
        if "steps" not in obj:
            p.add(f"overrides.{i}.steps", "is required")
        if len(ids) == 1:
            result.append(Override(steps, ids.get("service_id"), ids.get("provider_id")))
    return tuple(result)


def _hours(p: _Problems, raw: Any) -> Hours:
    obj = _obj(p, raw, "hours", ("weekday_start", "weekday_end", "weekend_start", "weekend_end"))
    if obj is None:
        return Hours()
    values = dict(vars(Hours()))
    for key in values:
        if key in obj:
            if not isinstance(obj[key], str) or not _HHMM.fullmatch(obj[key]):
                p.add(f"hours.{key}", "must be a time of day as HH:MM")
                continue
            try:
                values[key] = parse_hhmm(obj[key], f"hours.{key}")
            except ValidationError as exc:
                p.merge(exc)
    for kind in ("weekday", "weekend"):
        if values[f"{kind}_start"] >= values[f"{kind}_end"]:
            p.add(f"hours.{kind}_end", f"must be after {kind}_start ({format_hhmm(values[f'{kind}_start'])})")
    return Hours(**values)


def _templates(p: _Problems, raw: Any, show_provider: bool) -> dict[str, dict[str, str]]:
    obj = _obj(p, raw, "templates", TEMPLATE_CHANNELS)
    result: dict[str, dict[str, str]] = {}
    languages = tuple(lang.value for lang in Language)
    for channel in TEMPLATE_CHANNELS if obj is not None else ():
        assert obj is not None  # the loop runs only then
        texts = _obj(p, obj.get(channel, {}), f"templates.{channel}", languages)
        for lang, text in (texts or {}).items():
            if lang not in languages:
                continue
            if not isinstance(text, str):
                p.add(f"templates.{channel}.{lang}", "must be text")
                continue
            try:
                result.setdefault(channel, {})[lang] = validate_template(
                    text, allow_provider=show_provider, field=f"templates.{channel}.{lang}"
                )
            except ValidationError as exc:
                p.merge(exc)
    return result


def _sender(p: _Problems, raw: Any, clinic: Clinic) -> Sender:
    obj = _obj(p, raw, "sender", ("from_number", "messaging_service_sid"))
    number, sid = (obj or {}).get("from_number"), (obj or {}).get("messaging_service_sid")
    if number is not None:
        try:
            if not isinstance(number, str) or len(number) > 40:
                raise ValidationError("must be a phone number", field="sender.from_number")
            number = to_e164(number, clinic.phone_region, field="sender.from_number")
        except ValidationError as exc:
            p.merge(exc)
    if sid is not None and not (isinstance(sid, str) and _MG_SID.fullmatch(sid)):
        p.add("sender.messaging_service_sid", "must be a Messaging Service SID: MG and 32 hex digits")
    return Sender(number, sid)


def _rate(p: _Problems, rates: dict[str, Any], key: str) -> float | None:
    """A sender's rate: left out, 1/s (what a long code takes); null, no limit of ours."""
    if key in rates and rates[key] is None:
        return None
    return p.value(rates, key, f"rate_limits.{key}", "number", 1.0, MIN_RATE, MAX_RATE) or 1.0


def policy_warnings(doc: PolicyDoc) -> list[str]:
    """What the manager should know about the SMS texts they wrote (cost, encoding, missing date)."""
    return [
        f"templates.sms.{lang}: {w}"
        for lang, text in sorted(doc.templates.get("sms", {}).items())
        for w in check_template(text, language=Language(lang), allow_provider=doc.show_provider)
    ]


def validate_policy(session: Session, clinic: Clinic, raw: Any) -> tuple[PolicyDoc, list[str]]:
    """Check a whole document from the manager; keys left out take the default policy's values."""
    p = _Problems()
    obj = _obj(p, raw, "body", _TOP_KEYS)
    if obj is None:
        raise ValidationError("the policy must be a JSON object", fields=p.fields)
    show = p.value(obj, "show_provider", "show_provider", "bool", False)
    steps = _steps(p, obj["steps"], "steps") if "steps" in obj else ()
    if "steps" not in obj:
        p.add("steps", "is required (an empty list sends no reminders)")
    rates = _obj(p, obj.get("rate_limits", {}), "rate_limits", ("sms_per_second", "calls_per_second")) or {}
    doc = PolicyDoc(
        steps=steps,
        overrides=_overrides(p, session, clinic, obj.get("overrides", [])),
        hours=_hours(p, obj.get("hours", {})),
        templates=_templates(p, obj.get("templates", {}), bool(show)),
        show_provider=bool(show),
        sender=_sender(p, obj.get("sender", {}), clinic),
        **{k: _rate(p, rates, k) for k in ("sms_per_second", "calls_per_second")},
    )
    if p.fields:
        raise ValidationError("invalid policy: " + ", ".join(p.fields), fields=p.fields)
    return doc, policy_warnings(doc)
