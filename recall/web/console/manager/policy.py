"""The reminder policy editor: the whole document the API's PUT takes, saved as the next version in one
transaction, and a preview of each template in each of the five languages with its SMS segments.

The form is turned into the API's document (``policy_form``), checked by the API's own schema, then by the
domain's ``replace_policy`` / ``preview``: the same checks, the same messages, each beside its field.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from recall.clinic.catalog import list_providers, list_services
from recall.common.actors import Role
from recall.common.errors import ValidationError
from recall.reminders import policy as reminder_policy
from recall.reminders import policy_versions, replans
from recall.reminders.planning import DEFAULT_POLICY, TEMPLATE_CHANNELS, Channel, Fallback, OnMachine
from recall.reminders.policy_validation import policy_warnings
from recall.web.common import clock, session
from recall.web.console.manager import blp, policy_form
from recall.web.console.manager.forms import Errors, load, merge, renamed
from recall.web.console.pages import clinic, console_actor, field_errors, is_fetch, page, render
from recall.web.reminder_policy.schemas import LANGUAGES, PolicySchema


def _saved() -> tuple[int, dict[str, Any], list[str]]:
    row = policy_versions.latest_version(session(), console_actor().clinic_id)
    if row is None:
        return 0, DEFAULT_POLICY.to_json(), []
    return row.version, row.body, policy_warnings(row.doc)


def _editor(
    values: dict[str, Any], errors: Errors, status: int = 200, fragment: str | None = None, **extra: Any
) -> Any:
    clinic_id = console_actor().clinic_id
    version, body, warnings = _saved()
    return render(
        "manager/policy.html",
        fragment,
        status=status,
        values=values,
        errors=errors,
        version=version,
        warnings=warnings,
        replan=replans.latest(session(), clinic_id),
        rows=policy_form.rows,
        services=session().scalars(list_services(clinic_id)).all(),
        providers=session().scalars(list_providers(clinic_id)).all(),
        channels=[c.value for c in Channel],
        fallbacks=[f.value for f in Fallback],
        on_machine=[o.value for o in OnMachine],
        template_channels=TEMPLATE_CHANNELS,
        languages=LANGUAGES,
        builtin={ch: {lang: DEFAULT_POLICY.template(ch, lang) for lang in LANGUAGES} for ch in TEMPLATE_CHANNELS},
        **extra,
    )


@blp.get("/reminder-policy")
@page(Role.MANAGER)
def policy() -> Any:
    _version, body, _warnings = _saved()
    return _editor(policy_form.values(body), {}, saved=request.args.get("saved", type=int))


@blp.get("/reminder-policy/replan")
@page(Role.MANAGER)
def replan_progress() -> Any:
    """The re-plan's progress alone, for console.js to refresh every few seconds while it runs: one read, not the
    editor's whole page. Opened by hand, it is the editor."""
    if not is_fetch():
        return redirect(url_for("manager.policy"))
    return render_template("manager/_replan.html", replan=replans.latest(session(), console_actor().clinic_id))


def _checked() -> tuple[Any, policy_form.Built, Errors]:
    """The submitted document loaded by the API's schema, or the messages under the form's field names."""
    built = policy_form.build(request.form)
    loaded, problems = load(PolicySchema(), built.document)
    return loaded, built, merge(built.errors, renamed(problems, built.paths))


@blp.post("/reminder-policy")
@page(Role.MANAGER)
def save_policy() -> Any:
    loaded, built, errors = _checked()
    if not errors:
        try:
            row, _warnings = reminder_policy.replace_policy(session(), clock(), console_actor(), loaded)
        except ValidationError as exc:
            session().rollback()
            errors = renamed(field_errors(exc), built.paths)
        else:
            return redirect(url_for("manager.policy", saved=row.version))
    return _editor(policy_form.from_form(request.form), errors, status=422)


@blp.post("/reminder-policy/preview")
@page(Role.MANAGER)
def preview_policy() -> Any:
    """Each language's text of one channel's template under the unsaved form, with its SMS segments."""
    channel = request.form.get("preview_channel", "sms")
    if channel not in TEMPLATE_CHANNELS:
        channel = Channel.SMS.value
    loaded, built, errors = _checked()
    previews: list[dict[str, Any]] = []
    if not errors:
        for lang in LANGUAGES:
            try:
                shown = reminder_policy.preview(
                    session(), clinic(), clock().now(), policy=loaded, language=lang, channel=channel
                )
            except ValidationError as exc:
                named = field_errors(exc)
                if any(name.startswith("policy") for name in named):  # the document itself: no language helps
                    errors = renamed({k.removeprefix("policy."): v for k, v in named.items()}, built.paths)
                    previews = []
                    break
                previews.append({"language": lang, "errors": named})
            else:
                previews.append({"language": lang, "result": shown})
    status = 422 if errors or any("errors" in p for p in previews) else 200
    return _editor(
        policy_form.from_form(request.form),
        errors,
        status,
        "manager/policy_preview.html",
        preview_channel=channel,
        previews=previews,
    )
