"""The webhook views: check Twilio's signature, read the form, call ``recall.inbound``, answer in TwiML.

Twilio's words stay at the edge: a callback's status, error code and ``AnsweredBy`` are translated by
``integrations.twilio.reports`` into the domain's delivery report before the domain sees them, and what the call
says next is a ``CallScript`` value that ``integrations.twilio.twiml`` renders; no TwiML is written here.

Why it looks like this:

* Every request is refused with a 403, before anything is written to the database,
  unless ``X-Twilio-Signature`` matches the URL Twilio requested, signed with the auth
  token of the account its ``AccountSid`` names: the service-wide account's
  (``TWILIO_AUTH_TOKEN``), or a clinic's own (``recall.clinic_accounts``; its sealed
  token is the one thing read before the check). An account we do not know is refused.
  The account is then handed to ``recall.inbound``, which acts only on a clinic whose
  account it is: a webhook from another account, even validly signed, changes nothing.
  Behind a proxy the URL we see is not the one Twilio signed, so the public base
  URL is configured (``PUBLIC_BASE_URL``) and the path and query are appended to
  it; without one, the request's own URL is used (ProxyFix has already put the
  public scheme and host on it). An empty ``TWILIO_AUTH_TOKEN`` refuses everything.
* A malformed field is a 400 naming it, never a 500: SIDs are Twilio-shaped, a
  number fits its column, and text is checked before it reaches the database.
* Status callbacks for SIDs we do not know are answered 200, or Twilio retries them; what a callback may
  change (only our own sends) is ``recall.inbound``'s rule.
* The call repeats its message once: the first script's no-input path redirects to
  ``/voice?repeat=1``, whose no-input path hangs up; a stray key does the same.
* An answering machine (Twilio's ``AnsweredBy``) never hears the reminder: it gets the short voicemail the
  step asks for (the clinic, "please call us") or a hang-up (``recall.voicemail``).
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, g, request

from integrations.twilio import reports, signatures, twiml
from recall.reminders import accounts as clinic_accounts
from recall.reminders import inbound, voicemail
from recall.reminders.call_script import HANG_UP, CallScript, Say
from recall.reminders.templates.acknowledgements import ack_text
from recall.web import common, errors

log = logging.getLogger("recall.web.webhooks")

PREFIX = "/webhooks/twilio"
blp = Blueprint("twilio_webhooks", __name__, url_prefix=PREFIX)

_SID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}")
_WORD = re.compile(r"[a-z][a-z_-]{0,31}")
_PHONE = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_DIGITS = re.compile(r"[0-9*#]{0,16}")
MAX_INT = 2**31 - 1


class BadField(Exception):
    """A form or query field Twilio would never send like this: a 400 naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@blp.errorhandler(BadField)
def _bad_field(exc: BadField) -> tuple[dict[str, object], int]:
    return errors.payload(400, "bad_request", f"invalid input: {exc.field}", {exc.field: [exc.message]}), 400


@blp.before_request
def _verify_signature() -> tuple[dict[str, object], int] | None:
    """Only Twilio, holding the auth token of the account it names, may call these; a refusal writes nothing."""
    account = request.form.get("AccountSid") or None
    service = current_app.config.get("TWILIO_ACCOUNT_SID") or None
    if account is None or account == service:  # a missing AccountSid is refused by the view, once signed
        g.twilio_account, token = None, current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    else:
        g.twilio_account = account
        sealer = clinic_accounts.Sealer.from_setting(current_app.config.get("TWILIO_CREDENTIALS_KEY"))
        with common.database().reader() as session:
            token = clinic_accounts.token_for(session, sealer, account) if _SID.fullmatch(account) else None
        token = token or ""
    if signatures.verify(token, signed_url(), request.form, request.headers.get("X-Twilio-Signature")):
        return None
    log.warning("refused a webhook on %s: missing or wrong X-Twilio-Signature", request.path)
    return errors.payload(403, "forbidden", "the request does not carry a valid Twilio signature"), 403


def signed_url() -> str:
    """The URL Twilio requested, as it signed it: the public base URL + path and query, else the request's URL."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return request.url
    return base + request.full_path.removesuffix("?")


def public_url(path_and_query: str) -> str:
    """An absolute URL of ours for TwiML (a Gather's action, a Redirect), as Twilio can reach it."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") or request.host_url.rstrip("/")
    return base + PREFIX + path_and_query


# --- reading the request ------------------------------------------------------------------------------------------


def _form(name: str, pattern: re.Pattern[str], *, alt: str | None = None, required: bool = True) -> str | None:
    value = request.form.get(name) or (request.form.get(alt) if alt else None)
    if not value:
        if required:
            raise BadField(name, "is required")
        return None
    if not pattern.fullmatch(value):
        raise BadField(name, "is not in the form Twilio sends")
    return value


def _number(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_INT:
        raise BadField(name, f"must be a whole number from 0 to {MAX_INT}")
    return int(raw)


def _reminder_id(*, required: bool) -> int | None:
    """``?r=<reminder id>``, which we put on every callback URL."""
    value = _number(request.args.get("r"), "r")
    if value is None and required:
        raise BadField("r", "is required")
    return value


def _account() -> str | None:
    """The Twilio account the (signed) webhook came from: a clinic's own Account SID, None for the service's."""
    _form("AccountSid", _SID)
    return g.twilio_account


def _twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")


def _call(script: CallScript) -> Response:
    return _twiml(twiml.render(script))


# --- the views ----------------------------------------------------------------------------------------------------


@blp.post("/message-status")
def message_status() -> Response:
    """An SMS status callback: sent, delivered, undelivered or failed (with an error code)."""
    reminder_id = _reminder_id(required=False)
    sid = _form("MessageSid", _SID, alt="SmsSid")
    status = _form("MessageStatus", _WORD, alt="SmsStatus")
    error_code = _number(request.form.get("ErrorCode"), "ErrorCode")
    account = _account()
    assert sid is not None and status is not None
    report = reports.message_report(sid, status, error_code)
    if report is None:
        log.info("message status %r is not one we track; ignored", status)
    else:
        inbound.message_status(
            common.session(), common.clock(), reminder_id=reminder_id, report=report, account=account
        )
    return _twiml(twiml.EMPTY)


@blp.post("/call-status")
def call_status() -> Response:
    """A voice call's progress: completed, or busy, no-answer, failed, canceled."""
    reminder_id = _reminder_id(required=False)
    sid = _form("CallSid", _SID)
    status = _form("CallStatus", _WORD)
    answered_by = _form("AnsweredBy", _WORD, required=False)
    account = _account()
    assert sid is not None and status is not None
    report = reports.call_report(sid, status, answered_by)
    if report is None:
        log.info("call status %r is not one we track; ignored", status)
    else:
        inbound.call_status(common.session(), common.clock(), reminder_id=reminder_id, report=report, account=account)
    return _twiml(twiml.EMPTY)


@blp.post("/voice")
def voice() -> Response:
    """The call was answered: speak the reminder and collect one key (the second time round, without repeating).
    Another call than the reminder's own is hung up on, told nothing."""
    reminder_id = _reminder_id(required=True)
    call_sid = _form("CallSid", _SID)
    account = _account()
    repeat = request.args.get("repeat") == "1"
    answered_by = reports.answerer(_form("AnsweredBy", _WORD, required=False))
    assert reminder_id is not None and call_sid is not None
    if answered_by.is_machine:  # not the patient: a short safe message if the step says so, else hang up
        with common.database().reader() as session:
            own = inbound.own_call(session, reminder_id, call_sid, account)
            message = voicemail.voicemail_script(session, reminder_id, answered_by) if own else None
        return _call(HANG_UP if message is None else CallScript(say=Say(*message)))
    with common.database().reader() as session:
        script = inbound.voice_script(session, reminder_id, call_sid, account)
    if script is None:  # the booking is gone: say nothing about it
        return _call(HANG_UP)
    text, language = script
    action = public_url(f"/gather?r={reminder_id}" + ("&repeat=1" if repeat else ""))
    again = None if repeat else public_url(f"/voice?r={reminder_id}&repeat=1")
    return _call(CallScript(say=Say(text, language), gather_to=action, then=again))


@blp.post("/gather")
def gather() -> Response:
    """A key press: the patient hears what it did, then the call ends; an unknown key repeats the message once."""
    reminder_id = _reminder_id(required=True)
    call_sid = _form("CallSid", _SID)
    digits = request.form.get("Digits") or ""
    if not _DIGITS.fullmatch(digits):
        raise BadField("Digits", "must be at most 16 keys: 0-9, * or #")
    account = _account()
    assert reminder_id is not None and call_sid is not None
    ack = inbound.gather(
        common.session(), common.clock(), reminder_id=reminder_id, call_sid=call_sid, digits=digits, account=account
    )
    if ack.key == "repeat" and request.args.get("repeat") != "1":
        return _call(CallScript(then=public_url(f"/voice?r={reminder_id}&repeat=1")))
    key = "goodbye" if ack.key == "repeat" else ack.key
    return _call(CallScript(say=Say(ack_text(key, ack.language, spoken=True), ack.language)))


@blp.post("/inbound-sms")
def inbound_sms() -> Response:
    """A patient texted a clinic's number: act on it for that clinic, and acknowledge a confirm, a cancel or a
    request. A number (or Messaging Service) no one clinic owns changes nothing."""
    sid = _form("MessageSid", _SID, alt="SmsSid")
    sender = _form("From", _PHONE)
    to = _form("To", _PHONE)
    service = _form("MessagingServiceSid", _SID, required=False)
    body = request.form.get("Body") or ""
    account = _account()
    assert sid is not None and sender is not None
    reply = inbound.inbound_sms(
        common.session(),
        common.clock(),
        message_sid=sid,
        from_number=sender,
        to_number=to,
        body=body,
        messaging_service_sid=service,
        default_from=current_app.config.get("TWILIO_DEFAULT_FROM"),
        account=account,
    )
    return _twiml(twiml.sms_reply(reply))
