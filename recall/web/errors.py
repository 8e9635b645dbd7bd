"""One error shape for every failure, mapped from the domain's hierarchy in one place.

{"code": 422, "status": "Unprocessable Entity", "error": "validation_error",
 "message": "...", "fields": {"phone": ["..."]}}
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import marshmallow as ma
from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from recall.common import errors
from recall.web.common import Output
from recall.web.request_log import request_id

log = logging.getLogger("recall.web")

STATUS = {
    errors.ValidationError: 422,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.RateLimited: 429,
}
HTTP_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ErrorSchema(Output):
    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status name"})
    error = ma.fields.String(metadata={"description": "machine-readable error kind"})
    message = ma.fields.String()
    # Named as the key on the wire; marshmallow collects declared fields into Schema.fields itself.
    fields = ma.fields.Dict(  # type: ignore[assignment]
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "field path -> problems; only when input was wrong", "optional": True},
    )


def payload(code: int, error: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "status": HTTP_STATUS_CODES.get(code, "Error"),
        "error": error,
        "message": message,
    }
    if fields:
        body["fields"] = fields
    return body


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"booking": {"start_at": [...]}}} -> {"booking.start_at": [...]}."""
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": list(messages)}
    if isinstance(messages, str):
        return {prefix or "body": [messages]}
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else key)
            for field, msgs in flatten(value, name).items():
                out.setdefault(field, []).extend(msgs)
    return out


def handle_http_exception(exc: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    # The exception's own headers (a 405's Allow, a 401's WWW-Authenticate), but not its HTML content type.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    messages = data.get("messages") or data.get("errors")
    if messages:
        # webargs nests by location (json, query, ...); the field names are what callers need.
        fields: dict[str, list[str]] = {}
        for location_messages in messages.values() if isinstance(messages, dict) else [messages]:
            for field, msgs in flatten(location_messages).items():
                fields.setdefault(field, []).extend(msgs)
        message = data.get("message") or "invalid input: " + ", ".join(sorted(fields))
        return payload(code, HTTP_ERROR_NAMES.get(code, "error"), message, fields), code, headers
    if code >= 500:
        return payload(code, "internal_error", "the server failed; the failure is logged"), code, headers
    message = data.get("message") or exc.description or HTTP_STATUS_CODES.get(code, "error")
    return payload(code, HTTP_ERROR_NAMES.get(code, "error"), message), code, headers


def register(app: Flask) -> None:
    @app.errorhandler(errors.RecallError)
    def _domain(exc: errors.RecallError) -> tuple[dict[str, Any], int, dict[str, str]]:
        code = next((status for cls, status in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": 'Bearer realm="recall"'} if code == 401 else {}
        return payload(code, exc.code, exc.message, exc.fields or None), code, headers

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> tuple[dict[str, Any], int]:
        # A unique or foreign-key constraint caught a race the checks could not see.
        log.info("integrity error mapped to 409: %s", type(exc.orig).__name__)
        return payload(409, "conflict", "the change conflicts with the current data; reload and retry"), 409

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError) -> tuple[dict[str, Any], int, dict[str, str]]:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return (
            payload(503, "unavailable", "the database is busy or unreachable; retry shortly"),
            503,
            {"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return handle_http_exception(exc)
        if isinstance(exc, RecursionError):
            # Only a pathologically nested JSON body gets the parser this deep.
            return payload(400, "bad_request", "the body is nested too deeply", {"body": ["nested too deeply"]}), 400
        # The type and the frames only: messages and arguments may hold patient data.
        log.error(
            "unhandled %s\n%s",
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
            extra={"request_id": request_id()},
        )
        return payload(500, "internal_error", "the server failed; the failure is logged"), 500
