"""Signing in and out: the sign-in form, the invite and reset links that set a password, the CRM's launch
links, the member's language, and the console's front door (which sends each role to its own page).

A CRM opens the console for one of the clinic's staff members with a launch link, signed with the clinic's
launch secret (the manager rotates it on the team pages' CRM page; the previous one works for 24 hours more)::

    GET /console/launch?clinic=<clinic id>&staff=<staff id>&expires=<unix seconds>&nonce=<random>&sig=<hex>

    sig = hex(HMAC-SHA256(key=launch secret, msg=f"{clinic}.{staff}.{expires}.{nonce}"))

``expires`` is at most two minutes ahead; ``nonce`` is 16 to 100 characters of A-Z a-z 0-9 _ - and is used
once (``recall.clinic.integration`` has the details, and ``sign_launch`` builds the parameters). A valid link
opens a session and sends the member to their home page; any invalid one gets the same plain 403 page. To be
framed by the CRM, the clinic lists the CRM's origin on the CRM page, and the deployment sets
``CONSOLE_COOKIE_SAMESITE=None`` with ``CONSOLE_COOKIE_SECURE`` on (a cross-site frame gets no cookie else).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import g, redirect, request, url_for
from flask import session as cookie
from flask_babel import gettext as _

from recall.clinic.integration import MAX_ID, LaunchRefused, launch
from recall.clinic.signin import MIN_PASSWORD, accept_link, link_holder, set_language, sign_in, sign_out
from recall.common.actors import STAFF_ROLES
from recall.common.errors import RateLimited, Unauthenticated, ValidationError
from recall.web.common import clock, database, session
from recall.web.console.pages import (
    SESSION_KEY,
    console_actor,
    console_blueprint,
    field_errors,
    home_for,
    page,
    render,
    safe_next,
    signed_in,
)

blp = console_blueprint("access", __name__, "/console")
log = logging.getLogger("recall.web.console")


def _start(secret: str) -> None:
    cookie.clear()  # a new session id in a new cookie: nothing from before signing in carries over
    cookie[SESSION_KEY] = secret
    cookie.permanent = False


@blp.get("/")
def front_door() -> Any:
    actor = signed_in()
    if actor is None:
        return redirect(url_for("access.sign_in"))
    return redirect(home_for(actor))


@blp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> Any:
    target = safe_next(request.values.get("next"))
    clinic_id = request.values.get("clinic", type=int)
    if request.method == "GET":
        actor = signed_in()
        if actor is not None:
            return redirect(target or home_for(actor))
        return render("access/sign_in.html", errors={}, email="", next=target, clinic=clinic_id)
    email = request.form.get("email", "")
    try:
        signed = sign_in(session(), clock(), email, request.form.get("password", ""), clinic_id=clinic_id)
    except (ValidationError, Unauthenticated, RateLimited) as wrong:
        status = 429 if isinstance(wrong, RateLimited) else 422 if isinstance(wrong, ValidationError) else 401
        errors = _sign_in_problems(wrong, email) if isinstance(wrong, ValidationError) else {"_form": [_message(wrong)]}
        return render("access/sign_in.html", status=status, errors=errors, email=email, next=target, clinic=clinic_id)
    _start(signed.secret)
    return redirect(target or home_for(signed.actor))


def _sign_in_problems(wrong: ValidationError, email: str) -> dict[str, list[str]]:
    """The domain's refusal beside its field, in the member's language."""
    if "email" in wrong.fields:
        if email.strip():
            return {"email": [_("This email is used at several clinics: sign in through your clinic's own link.")]}
        return {"email": [_("Enter your email.")]}
    if "password" in wrong.fields:
        return {"password": [_("Enter your password.")]}
    return field_errors(wrong)


def _message(error: Exception) -> str:
    if isinstance(error, RateLimited):
        seconds = getattr(error, "retry_after", 60)
        return _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=seconds)
    return _("The email or the password is wrong.")


@blp.get("/launch")
def launch_page() -> Any:
    """A CRM's signed launch link: a session for its staff member, or a 403 that does not say what was wrong."""
    clinic_id = request.args.get("clinic", type=int)
    if clinic_id is not None and 0 < clinic_id <= MAX_ID:
        g.frame_clinic_id = clinic_id  # the refusal, too, shows inside the clinic's CRM
    g.db_session = database().new_session(write=True)  # a GET that writes: the nonce and the session
    try:
        signed = launch(session(), clock(), request.args.to_dict())
    except LaunchRefused as refused:
        log.warning("launch link refused for clinic %s: %s", clinic_id, refused.reason)
        return render("access/launch_refused.html", status=403)
    _start(signed.secret)
    return redirect(home_for(signed.actor))


@blp.post("/sign-out")
def sign_out_page() -> Any:
    secret = cookie.get(SESSION_KEY)
    if isinstance(secret, str) and secret:
        sign_out(session(), clock(), secret)
    cookie.clear()
    return redirect(url_for("access.sign_in"))


@blp.route("/welcome/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """An invite or reset link: the member chooses a password (twice) and is signed in."""
    try:
        member = link_holder(session(), clock(), token)
    except Unauthenticated:
        return render("access/link_expired.html", status=410)
    if request.method == "GET":
        return render("access/set_password.html", member=member, errors={})
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    if password != again:
        errors = {"password_again": [_("The two passwords differ.")]}
        return render("access/set_password.html", status=422, member=member, errors=errors)
    try:
        signed = accept_link(session(), clock(), token, password)
    except ValidationError as wrong:
        errors = field_errors(wrong)
        if "password" in errors:
            errors["password"] = [
                _("Use %(least)s to %(most)s characters, and not only spaces.", least=MIN_PASSWORD, most=1000)
            ]
        return render("access/set_password.html", status=422, member=member, errors=errors)
    _start(signed.secret)
    return redirect(home_for(signed.actor))


@blp.post("/language")
@page(*STAFF_ROLES)
def language() -> Any:
    try:
        set_language(session(), console_actor(), request.form.get("language", ""))
    except ValidationError:
        pass  # the picker offers only the five; anything else leaves the language as it was
    g.pop("actor", None)
    back = safe_next(request.form.get("next"))
    return redirect(back or home_for(console_actor()))
