"""One log line per request, and the request's id.

The id comes from the caller's ``X-Request-ID`` when it is a plain token (letters, digits, ``.-_:``, at most 64),
otherwise a new one; it goes back in the answer's ``X-Request-ID`` and into the line. The line names the route's
template (``/api/v1/patients/<int:patient_id>``), never the path or the query string, which can carry a name, a
phone or a link's secret; the staff member and clinic are ids.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from werkzeug.wrappers import Response

log = logging.getLogger("recall.requests")
HEADER = "X-Request-ID"
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id() -> str:
    """This request's id (made on first use, so an error logged before the hook ran still has one)."""
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _PLAIN.fullmatch(given) else uuid.uuid4().hex
    return str(g.request_id)


def _start() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    started = g.get("request_started")
    actor = g.get("actor")
    log.info(
        "request",
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else "(no route)",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started is not None else None,
            "staff_id": getattr(actor, "staff_id", None),
            "clinic_id": getattr(actor, "clinic_id", None),
            "request_id": request_id(),
        },
    )
    return response


def install(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
