"""The API's contract in one place: how bodies are read, and what the OpenAPI document says about every operation.

Views use this module's ``Blueprint`` instead of flask-smorest's. It adds, once for all of them:

* **Bodies.** A write whose body is not JSON (``text/plain``, a form) is a 415, and a write with no body where
  one is required is a 400, both in the one error shape. webargs reads a non-JSON body as "no body", so without
  this a PATCH sent as a form answered 200 and changed nothing.
* **Error answers in the document.** Every operation lists the statuses it can answer, by rule: 401 behind a
  token; 403 when its roles are narrower than all staff (or the view says it checks more, with
  ``@may_answer(403)``); 404 with an id in the path; 400, 413 and 415 with a JSON body; 422 with any arguments; 409
  for a write (``@may_answer(never=(409,))`` for a POST that only computes). Each points at the error schema;
  ``default`` stands for 500 and 503.
* **A one-line summary** for every operation: the docstring's first sentence, or the view's name read as words.

And the ``MarshmallowPlugin`` here writes an optional nested object as "that object, or null" (apispec's own
OpenAPI 3.0 form, ``{"type": "object", "nullable": true}``, admits any object at all).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import request
from flask_smorest.utils import prepare_response
from webargs.core import is_json

from recall.web.auth import ALL_ROLES

F = TypeVar("F", bound=Callable[..., Any])
WRITES = frozenset({"post", "put", "patch", "delete"})

# The error answers, by status: the name flask-smorest's own references use, and what each means here.
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "The body is missing, is not valid JSON, or is nested too deeply; `fields` names `body`."),
    401: ("UNAUTHORIZED", "No valid bearer token: missing, malformed, revoked, or of an inactive staff member."),
    403: ("FORBIDDEN", "The caller's role, or their relation to the object, does not allow this."),
    404: ("NOT_FOUND", "No such object in the caller's clinic (another clinic's objects are not found either)."),
    409: ("CONFLICT", "The change clashes with the current state of the data; reload and retry."),
    413: ("CONTENT_TOO_LARGE", "The body is larger than the service reads (1 MiB)."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The body is not `application/json`."),
    422: ("UNPROCESSABLE_ENTITY", "The input breaks a rule; `fields` names each offending field (dotted paths)."),
}
DEFAULT_ERROR = "An unexpected failure (500, logged) or the database is unavailable (503, with `Retry-After`)."


def may_answer(*statuses: int, never: Iterable[int] = ()) -> Callable[[F], F]:
    """Document statuses the rules above cannot see (a view's own 403), or drop one that cannot happen."""

    def mark(view: F) -> F:
        view._recall_statuses = (  # type: ignore[attr-defined]
            frozenset(statuses) | getattr(view, "_recall_statuses", (frozenset(), frozenset()))[0],
            frozenset(never) | getattr(view, "_recall_statuses", (frozenset(), frozenset()))[1],
        )
        return view

    return mark


def require_json_body(required: bool) -> None:
    """415 for a body that is not JSON; 400 for no body where one is required. Called before webargs reads it."""
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if has_body and not is_json(request.mimetype):
        shown = request.mimetype or "no content type"
        flask_smorest.abort(
            415,
            message=f"send the body as application/json, not {shown}",
            messages={"json": {"body": [f"must be application/json, not {shown}"]}},
        )
    if not has_body and required:
        flask_smorest.abort(400, messages={"json": {"body": ["a JSON body is required ({} when it has nothing)"]}})


def summary_of(docstring: str | None, name: str) -> dict[str, str]:
    """The docstring's first sentence as the summary and the whole of it as the description; without one, the
    view's name as words ("issue_token" -> "Issue token")."""
    text = " ".join((docstring or "").split())
    if not text:
        return {"summary": name.replace("_", " ").capitalize()}
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
    info = {"summary": first}
    if first != text.rstrip("."):
        info["description"] = text
    return info


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the contract above: body checks, error answers, summaries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_errors_doc)

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True, **kwargs: Any) -> Any:
        # One instance per route, made here: given a class, webargs builds the schema and every nested one anew
        # for each request. A schema keeps no state between loads, so threads share it.
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json":
            return parse

        def decorator(func: F) -> F:
            parsed = parse(func)

            @functools.wraps(parsed)
            def wrapper(*args: Any, **kw: Any) -> Any:
                require_json_body(required)
                return parsed(*args, **kw)

            return wrapper  # type: ignore[return-value]

        return decorator

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        for method, doc in self._docs[self._endpoints[-1]].items():
            if method == "parameters":
                continue
            doc["docstring"] = summary_of(view_func.__doc__, view_func.__name__)
            doc["recall_errors"] = sorted(_statuses(method, rule, view_func, doc))

    @staticmethod
    def _prepare_errors_doc(doc: dict[str, Any], doc_info: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        responses = doc.setdefault("responses", {})
        for status in doc_info.get("recall_errors", ()):
            responses.setdefault(status, ERROR_RESPONSES[status][0])
        return doc


def _statuses(method: str, rule: str, view: Any, doc: dict[str, Any]) -> set[int]:
    codes: set[int] = set()
    roles = getattr(view, "_recall_roles", None)
    if roles is not None:
        codes.add(401)
        if set(roles) != set(ALL_ROLES):
            codes.add(403)
    if "<" in rule:
        codes.add(404)
    locations = {p["in"] for p in doc.get("arguments", {}).get("parameters", [])}
    if "json" in locations:
        codes |= {400, 413, 415}
    if locations:
        codes.add(422)
    if method in WRITES:
        codes.add(409)
    extra, never = getattr(view, "_recall_statuses", (frozenset(), frozenset()))
    return (codes | extra) - never


class _Converter(OpenAPIConverter):
    def field2nullable(self, field: Any, ret: dict[str, Any]) -> dict[str, Any]:
        attributes = super().field2nullable(field, ret)
        if self.openapi_version.major == 3 and self.openapi_version.minor == 0 and "anyOf" in attributes:
            # OpenAPI 3.0 has no null type: "nullable" only adds null to a type's values, so the branch that is
            # null and nothing else is an object type that allows only null.
            attributes["anyOf"] = [
                option if option.get("nullable") is not True else {"type": "object", "nullable": True, "enum": [None]}
                for option in attributes["anyOf"]
            ]
        return attributes


class Plugin(MarshmallowPlugin):
    Converter = _Converter


def register_responses(spec: Any, schema: Any, content_type: str) -> None:
    """The error answers as response components, each with the error schema and what the status means here."""
    for status, (name, description) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {"description": description, "schema": schema}
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="recall"'}
            }
        prepare_response(response, spec, content_type)
        spec.components.response(name, response, lazy=True)
    default: dict[str, Any] = {"description": DEFAULT_ERROR, "schema": schema}
    prepare_response(default, spec, content_type)
    spec.components.response("DEFAULT_ERROR", default, lazy=True)


RANGES_SECTION = """

## Ranges: `from` and `to`

Every list's `from` and `to` (and the recall queue's `due_from` and `due_to`) take either a day, `YYYY-MM-DD`, read
in the clinic's time zone, or an ISO 8601 instant with an offset, and mean the same everywhere: the range is
[from, to). A day as `from` starts at its local midnight; a day as `to` takes in the whole day (up to the next local
midnight); an instant as `to` is excluded. `to` must be after `from`. The earnings summaries and the what-if take
whole days (a pay period is made of days), both ends included.
"""

# --- Twilio's webhooks --------------------------------------------------------------------------------------------

WEBHOOKS_KEY = "x-twilio-webhooks"
WEBHOOKS_SECTION = f"""

## Twilio webhooks

Twilio calls these under `/webhooks/twilio`, outside `/api/v1`: they carry no bearer token but an
`X-Twilio-Signature` over the URL and the form (a request without a valid one is a 403 and changes nothing), read
`application/x-www-form-urlencoded` and answer in TwiML (`text/xml`). They are described in the top-level
`{WEBHOOKS_KEY}` extension, one Path Item per webhook in the shape of OpenAPI 3.1 `webhooks`, each with its path:
this document stays OpenAPI 3.0.3 because the Swagger UI served with it (offline, from the swagger-ui-bundle
package) renders no 3.1, and they are kept out of `paths` because only Twilio calls them; a client generated from
this document must not offer them. A malformed field is a 400 naming it.
"""

_SID = {"type": "string", "pattern": "^[A-Za-z]{2}[0-9a-fA-F]{32}$"}
_WORD = {"type": "string", "pattern": "^[a-z][a-z_-]{0,31}$"}
_PHONE = {"type": "string", "maxLength": 64, "description": "E.164 as Twilio sends it"}
_REMINDER = {
    "name": "r",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "description": "the reminder the callback is about: put in the URL we gave Twilio with the send",
}
_SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "HMAC-SHA1 of the URL and the sorted form, keyed with the account's auth token",
}


def _webhook(
    summary: str,
    path: str,
    form: dict[str, Any],
    required: list[str],
    answer: str,
    query: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "summary": f"{summary} (POST /webhooks/twilio{path})",
        "post": {
            "summary": summary,
            "description": f"Called by Twilio at `POST /webhooks/twilio{path}`.",
            "operationId": f"twilio_{path.strip('/').replace('-', '_')}",
            "security": [],
            "parameters": [_SIGNATURE, *query],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"AccountSid": _SID, **form},
                            **({"required": required} if required else {}),
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": answer, "content": {"text/xml": {"schema": {"type": "string"}}}},
                "400": {"$ref": "#/components/responses/BAD_REQUEST"},
                "403": {
                    "description": "No valid X-Twilio-Signature; nothing is read or written.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
    }


def twilio_webhooks() -> dict[str, Any]:
    status = {"type": "integer", "description": "Twilio's error code, with a failure"}
    return {
        "messageStatus": _webhook(
            "An SMS reminder's delivery status: sent, delivered, undelivered or failed",
            "/message-status",
            {"MessageSid": _SID, "SmsSid": _SID, "MessageStatus": _WORD, "SmsStatus": _WORD, "ErrorCode": status},
            ["MessageSid"],
            "An empty TwiML response; a SID we do not know is answered 200 too.",
            [_REMINDER],
        ),
        "callStatus": _webhook(
            "A voice reminder's call progress: ringing, answered, completed, busy, no-answer, failed",
            "/call-status",
            {"CallSid": _SID, "CallStatus": _WORD, "AnsweredBy": _WORD, "ErrorCode": status},
            ["CallSid", "CallStatus"],
            "An empty TwiML response.",
            [_REMINDER],
        ),
        "voice": _webhook(
            "The reminder call's script: the message in the patient's language and the keys to press",
            "/voice",
            {"CallSid": _SID},
            [],
            "TwiML that says the message and gathers one key.",
            [
                {**_REMINDER, "required": True},
                {
                    "name": "repeat",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["1"]},
                    "description": "the second and last time the message is said",
                },
            ],
        ),
        "gather": _webhook(
            "A key pressed during the reminder call: confirm, cancel, ask to reschedule, or repeat",
            "/gather",
            {"CallSid": _SID, "Digits": {"type": "string", "pattern": "^[0-9*#]{0,16}$"}},
            ["CallSid"],
            "TwiML that acknowledges the key and hangs up (or says the message again).",
            [{**_REMINDER, "required": True}],
        ),
        "inboundSms": _webhook(
            "An SMS a patient sent: a reply to a reminder (confirm, cancel, reschedule, STOP) or a message",
            "/inbound-sms",
            {
                "MessageSid": _SID,
                "SmsSid": _SID,
                "From": _PHONE,
                "To": _PHONE,
                "Body": {"type": "string", "maxLength": 1600},
            },
            ["MessageSid", "From"],
            "TwiML with the reply to send back, or an empty response.",
        ),
    }
