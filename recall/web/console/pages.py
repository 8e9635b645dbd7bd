"""What every console page uses: who is signed in, the roles a page admits, CSRF, the security headers, and
rendering a whole page or the fragment a script swaps in.

A role's blueprint is made by ``console_blueprint``: it checks CSRF on every write, loads the signed-in staff
member (``g.actor``, as the API's views have it), maps the domain's errors to pages, and sends the headers that
keep the console out of frames other than the clinic's CRM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from recall.clinic.clinics import Clinic, get_clinic
from recall.clinic.integration import ClinicIntegration
from recall.clinic.signin import session_actor
from recall.clinic.staff import get_staff
from recall.common.actors import Actor, Role
from recall.common.errors import Forbidden, NotFound, RateLimited, RecallError, Unauthenticated
from recall.web.common import clock, session
from recall.web.console.words import say

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()
SESSION_KEY = "sid"  # the console session's secret, inside Flask's signed cookie
HOME = {Role.OPERATOR: "operator.desk", Role.FRONTDESK: "frontdesk.today", Role.MANAGER: "manager.dashboard"}
FETCH_HEADER = "X-Requested-With"  # console.js sends it: the answer is a fragment, not a page


def is_fetch() -> bool:
    return request.headers.get(FETCH_HEADER) == "fetch"


def console_actor() -> Actor:
    """The signed-in staff member, or Unauthenticated; loads their language and clinic once per request."""
    if "actor" not in g:
        secret = cookie.get(SESSION_KEY)
        if not isinstance(secret, str) or not secret:
            raise Unauthenticated("sign in first")
        g.actor, g.console_language = session_actor(session(), clock(), secret)
    return g.actor


def signed_in() -> Actor | None:
    try:
        return console_actor()
    except Unauthenticated:
        return None


def clinic() -> Clinic:
    if "console_clinic" not in g:
        g.console_clinic = get_clinic(session(), console_actor().clinic_id)
    return g.console_clinic


def page(*allowed: Role) -> Callable[[F], F]:
    """Admit a signed-in staff member of ``allowed`` roles: the rest see the sign-in page or a 403 page."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            console_actor().require(*allowed)
            return view(*args, **kwargs)

        wrapper._console_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def render(template: str, fragment: str | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    """The whole page, or (for console.js) only ``fragment``, a template that the page includes."""
    name = fragment if fragment is not None and is_fetch() else template
    return render_template(name, **context), status


def field_errors(error: RecallError, rename: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The domain's field messages under the form's field names (``rename`` maps a domain field to a form's),
    in the member's language; a message naming no field goes under ``_form``."""
    rename = rename or {}
    errors: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        errors.setdefault(rename.get(name, name), []).extend(say(message) for message in messages)
    if not errors:
        errors["_form"] = [say(error.message)]
    return errors


def frame_ancestors(clinic_id: int | None) -> str:
    if clinic_id is None:
        return "'none'"
    origins = session().scalar(
        sa.select(ClinicIntegration.frame_ancestors).where(ClinicIntegration.clinic_id == clinic_id)
    )
    return (origins or "").strip() or "'none'"


def security_headers(response: Response) -> Response:
    """The console's headers: a strict CSP (scripts and styles from this server only; framed only by the
    clinic's listed origins), no sniffing, no referrer outside, no caching of pages with patient data."""
    actor = g.get("actor")
    clinic_id = g.get("frame_clinic_id", actor.clinic_id if actor is not None else None)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        f"base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors(clinic_id)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _protect() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def safe_next(target: str | None) -> str | None:
    """A path on this server to go back to after signing in (never another site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def sign_in_redirect() -> Response:
    target = request.full_path if request.method == "GET" and not is_fetch() else None
    return redirect(url_for("access.sign_in", next=safe_next(target)))


ALERT_HEADER = "X-Recall-Alert"  # console.js shows such an answer above the fragment instead of replacing it


def _error_page(status: int, message: str) -> Any:
    """The refusal as a page, or, to console.js, as an alert it puts above what is on screen (the card or form
    stays as it was, so nothing typed is lost), in the member's language."""
    message = say(message)
    if is_fetch():
        return render_template("console/_alert.html", status=status, message=message), status, {ALERT_HEADER: "1"}
    return render_template("console/error.html", status=status, message=message), status


def _on_domain_error(error: RecallError) -> Any:
    if isinstance(error, Unauthenticated):
        if is_fetch():
            return _error_page(401, error.message)
        cookie.pop(SESSION_KEY, None)
        return sign_in_redirect()
    if isinstance(error, Forbidden):
        return _error_page(403, error.message)
    if isinstance(error, NotFound):
        return _error_page(404, error.message)
    if isinstance(error, RateLimited):
        return _error_page(429, error.message)
    return _error_page(409 if error.code == "conflict" else 422, error.message)


def _on_csrf_error(error: CSRFError) -> Any:
    return _error_page(400, "the form expired or did not come from this console: reload the page and try again")


def console_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A console blueprint with its templates beside it, CSRF on every write, the domain's errors as pages and
    the console's security headers."""
    blp = Blueprint(name, import_name, url_prefix=url_prefix, template_folder="templates")
    blp.before_request(_protect)
    blp.after_request(security_headers)
    blp.register_error_handler(RecallError, _on_domain_error)
    blp.register_error_handler(CSRFError, _on_csrf_error)
    blp.context_processor(_context)
    return blp


def home_for(actor: Actor) -> str:
    return url_for(HOME.get(actor.role, "access.sign_in"))


def development() -> bool:
    return current_app.config.get("ENV_NAME") in ("development", "test")


def _context() -> dict[str, Any]:
    """What the layout shows: the signed-in member and their clinic (nothing before signing in)."""
    actor = signed_in()
    if actor is None or actor.staff_id is None:
        return {"me": None, "clinic": None, "roles": Role}
    return {"me": get_staff(session(), actor.clinic_id, actor.staff_id), "clinic": clinic(), "roles": Role}


def wants_csv() -> bool:
    return request.args.get("format") == "csv"
