"""The reminder policy editor's form: the document the API's PUT takes, built from the form's fields, and the
form's rows from a saved document.

A step row whose offset is left blank is no step (that is how a manager removes one, and how the spare row at
the end stays unused); an override with no service, no provider and no step is no override. The rows kept are
renumbered for the document, so ``paths`` remembers which form row each document row came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from recall.reminders.planning import TEMPLATE_CHANNELS
from recall.web.console.manager.forms import Errors, Reader
from recall.web.reminder_policy.schemas import LANGUAGES

STEP_KEYS = ("offset_minutes", "channel", "fallback", "on_machine", "run_if_confirmed", "routine")
SPARE_STEPS = 1  # blank step rows after the policy's own, to add a step


@dataclass
class Built:
    document: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)  # document path prefix -> form field prefix
    errors: Errors = field(default_factory=dict)


def _steps(form: Reader, prefix: str, built: Built, doc_prefix: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for i in form.indexes(prefix):
        at = f"{prefix}.{i}"
        if not form.has(f"{at}.offset_minutes"):
            continue
        built.paths[f"{doc_prefix}.{len(steps)}"] = at
        steps.append(
            {
                "offset_minutes": form.integer(f"{at}.offset_minutes"),
                "channel": form.text(f"{at}.channel"),
                "fallback": form.text(f"{at}.fallback") or "none",
                "on_machine": form.text(f"{at}.on_machine") or "fallback",
                "run_if_confirmed": form.checked(f"{at}.run_if_confirmed"),
                "routine": form.checked(f"{at}.routine"),
            }
        )
    return steps


def build(data: MultiDict[str, str]) -> Built:
    """The policy document of a submitted editor form, as the API's PUT would receive it."""
    form = Reader(data)
    built = Built(document={})
    doc = built.document
    doc["steps"] = _steps(form, "steps", built, "steps")
    overrides: list[dict[str, Any]] = []
    for j in form.indexes("overrides"):
        at = f"overrides.{j}"
        service, provider = form.integer(f"{at}.service_id"), form.integer(f"{at}.provider_id")
        here = f"overrides.{len(overrides)}"
        steps = _steps(form, f"{at}.steps", built, f"{here}.steps")
        if service is None and provider is None and not steps:
            continue
        built.paths[here] = at
        overrides.append({"service_id": service, "provider_id": provider, "steps": steps})
    doc["overrides"] = overrides
    doc["hours"] = {
        key: form.text(f"hours.{key}") for key in ("weekday_start", "weekday_end", "weekend_start", "weekend_end")
    }
    doc["templates"] = {
        channel: {
            lang: form.text(f"templates.{channel}.{lang}")
            for lang in LANGUAGES
            if form.has(f"templates.{channel}.{lang}")
        }
        for channel in TEMPLATE_CHANNELS
    }
    doc["show_provider"] = form.checked("show_provider")
    doc["sender"] = {
        "from_number": form.optional_text("sender.from_number"),
        "messaging_service_sid": form.optional_text("sender.messaging_service_sid"),
    }
    doc["rate_limits"] = {
        "sms_per_second": form.decimal("rate_limits.sms_per_second"),
        "calls_per_second": form.decimal("rate_limits.calls_per_second"),
    }
    built.errors = form.errors
    return built


def values(document: dict[str, Any]) -> dict[str, Any]:
    """The form's field values for a saved document (the inverse of ``build``), with the spare rows."""
    out: dict[str, Any] = {}

    def steps(prefix: str, rows: list[dict[str, Any]]) -> int:
        for i, step in enumerate(rows):
            for key in STEP_KEYS:
                out[f"{prefix}.{i}.{key}"] = step.get(key)
        return len(rows)

    steps("steps", document.get("steps", []))
    for j, override in enumerate(document.get("overrides", [])):
        out[f"overrides.{j}.service_id"] = override.get("service_id")
        out[f"overrides.{j}.provider_id"] = override.get("provider_id")
        steps(f"overrides.{j}.steps", override.get("steps", []))
    for key, value in (document.get("hours") or {}).items():
        out[f"hours.{key}"] = value
    for channel, texts in (document.get("templates") or {}).items():
        for lang, text in texts.items():
            out[f"templates.{channel}.{lang}"] = text
    out["show_provider"] = bool(document.get("show_provider"))
    for key, value in (document.get("sender") or {}).items():
        out[f"sender.{key}"] = value
    for key, value in (document.get("rate_limits") or {}).items():
        out[f"rate_limits.{key}"] = value
    return out


def from_form(data: MultiDict[str, str]) -> dict[str, Any]:
    """The values a manager typed, to show them again beside the messages (nothing is lost on an error)."""
    out: dict[str, Any] = {key: data.get(key) for key in data if key != "csrf_token"}
    for key in list(out):
        if key.endswith((".run_if_confirmed", ".routine")) or key == "show_provider":
            out[key] = True
    for key in _checkbox_rows(data):
        out.setdefault(key, False)
    return out


def _checkbox_rows(data: MultiDict[str, str]) -> list[str]:
    """The checkboxes of every submitted row that came back unchecked (a browser leaves them out)."""
    rows = {key.rsplit(".", 1)[0] for key in data if key.endswith(".offset_minutes")}
    return [f"{row}.{box}" for row in rows for box in ("run_if_confirmed", "routine")] + ["show_provider"]


def rows(form_values: dict[str, Any], prefix: str) -> list[int]:
    """The row numbers to draw under ``prefix``: the document's (or the form's) and the spare ones."""
    used = sorted(
        {
            int(key[len(prefix) + 1 :].split(".", 1)[0])
            for key in form_values
            if key.startswith(prefix + ".") and key[len(prefix) + 1 :].split(".", 1)[0].isdigit()
        }
    )
    top = used[-1] + 1 if used else 0
    return used + list(range(top, top + SPARE_STEPS))
