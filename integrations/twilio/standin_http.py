"""The stand-in's HTTP side: a threaded server, its request handler, and how it answers Twilio's REST API
(Messages and Calls: create, fetch and list, with basic auth, Twilio's error JSON and the injected faults).

Kept apart from the control surface (``standin.StandIn``) and the state (``standin_state``): this is the part
that speaks HTTP the way the SDK expects it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from integrations.twilio.standin_control import handle_control
from integrations.twilio.standin_model import API_VERSION, Recorded, error_body, new_sid
from integrations.twilio.standin_state import StandInState

if TYPE_CHECKING:
    from integrations.twilio.standin import StandIn

_API = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+))?\.json$")


class StandInServer(ThreadingHTTPServer):
    """One thread per connection (HTTP/1.1 keep-alive); it remembers its connections so that ``stop`` can close
    them all."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], standin: StandIn) -> None:
        self.standin = standin
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this
    server: StandInServer

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, Nagle plus delayed ACK adds about 45 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines hold phone numbers; the request log is the record."""

    def do_GET(self) -> None:
        dispatch(self.server.standin, self)

    def do_POST(self) -> None:
        dispatch(self.server.standin, self)

    def do_DELETE(self) -> None:
        dispatch(self.server.standin, self)

    def read_body(self) -> bytes | None:
        """The whole body, or None when the client went away before sending all of it (a killed worker):
        like Twilio, the stand-in acts only on complete requests."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def reply(self, status: int, payload: Any, *, raw: str | None = None) -> None:
        body = (json.dumps(payload) if raw is None else raw).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8" if raw is None else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Twilio-Request-Id", new_sid("RQ"))
        self.end_headers()
        self.wfile.write(body)

    def basic_auth(self) -> tuple[str | None, str | None]:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None, None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return user, password


def dispatch(standin: StandIn, handler: _Handler) -> None:
    """Answer one request: the control API under ``/_standin/``, or Twilio's REST API."""
    url = urlsplit(handler.path)
    raw = handler.read_body()
    if raw is None:
        return
    if url.path.startswith("/_standin/"):
        status, payload = handle_control(standin, handler.command, url.path, raw)
        handler.reply(status, payload)
        return
    match = _API.match(url.path)
    if match is None:
        handler.reply(404, error_body(404, 20404))
        return
    standin.state.enter()
    try:
        _api(standin, handler, match, url.query, raw)
    finally:
        standin.state.leave()


def _api(standin: StandIn, handler: _Handler, match: re.Match[str], query: str, raw: bytes) -> None:
    if standin.state.latency_ms:
        time.sleep(standin.state.latency_ms / 1000)
    multi = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    if handler.command == "GET":
        multi = {**multi, **parse_qs(query, keep_blank_values=True)}
    form = {key: values[0] for key, values in multi.items()}
    account, kind, sid = match["account"], match["kind"], match["sid"]
    entry = Recorded(
        handler.command, urlsplit(handler.path).path, kind, multi, handler.headers.get("X-Recall-Idempotency-Key")
    )
    standin.state.record(entry)
    status, payload = _respond(standin, handler, entry, account, kind, sid, form)
    entry.status = status
    if status:
        body = entry.fault.get("body") if entry.fault and status == 201 else None  # a fault's own answer
        handler.reply(status, payload, raw=body)


def _respond(
    standin: StandIn,
    handler: _Handler,
    entry: Recorded,
    account: str,
    kind: str,
    sid: str | None,
    form: dict[str, str],
) -> tuple[int | None, Any]:
    if not standin.state.authorized(account, *handler.basic_auth()):
        return 401, error_body(401, 20003)
    if handler.command == "GET":
        return _read(standin.state, account, kind, sid, form)
    if handler.command != "POST" or sid is not None:
        return 405, error_body(405, 20004, "Method not allowed")
    fault = standin.state.take_fault(kind, form.get("To"))
    if fault is not None:
        entry.fault = asdict(fault)
        if fault.slow_ms:
            time.sleep(fault.slow_ms / 1000)
        if fault.status:
            default = {429: 20429, 401: 20003, 404: 20404}.get(fault.status, fault.status)
            code = fault.code or (20500 if fault.status >= 500 else default)
            return fault.status, error_body(fault.status, code, fault.message)
    invalid = standin.state.validate_message(form) if kind == "Messages" else standin.state.validate_call(form)
    if invalid is not None:
        return invalid[0], error_body(*invalid)
    if fault is not None and (fault.timeout or fault.drop) and not fault.accept:
        resource = None
    elif kind == "Messages":
        resource = standin.state.create_message(account, form)
    else:
        resource = standin.state.create_call(account, form, entry.form.get("StatusCallbackEvent", []))
    entry.sid = resource.json["sid"] if resource else None
    if fault is not None and (fault.timeout or fault.drop):
        if fault.timeout:
            standin.state.release.wait(fault.hang_ms / 1000)
        handler.close_connection = True
        return None, None
    assert resource is not None
    if fault is not None and fault.answer:  # what the resource says from now on, as it answered
        kept = {key: value for key, value in fault.answer.items() if key != "sid"}
        resource = standin.state.update(resource.json["sid"], **kept) if kept else resource
        return 201, {**resource.json, **fault.answer}
    if kind == "Messages" and standin.state.auto_deliver and resource.status_callback:
        standin.deliver_later(resource.json["sid"])
    return 201, resource.json


def _read(state: StandInState, account: str, kind: str, sid: str | None, query: dict[str, str]) -> tuple[int, Any]:
    if sid is not None:
        resource = state.get(sid)
        if resource is None or resource.kind != kind or resource.json["account_sid"] != account:
            return 404, error_body(404, 20404)
        return 200, resource.json
    items = [r for r in state.find(kind, query.get("To"), query.get("From")) if r["account_sid"] == account]
    size = int(query.get("PageSize") or 50)
    uri = f"/{API_VERSION}/Accounts/{account}/{kind}.json"
    return 200, {
        kind.lower(): items[:size],
        "end": max(0, min(size, len(items)) - 1),
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": size,
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }
