"""A CRM's webhook receiver on 127.0.0.1, for the webhook tests: it checks every signature with
``standardwebhooks`` and records what arrived; ``answer`` decides the status it answers with.

``strict`` receivers use ``Webhook.verify`` as a CRM would (the timestamp within five minutes of the wall clock);
the others check the signature over the headers' own timestamp, for tests that drive a clock days ahead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Arrival:
    message_id: str
    timestamp: int
    body: dict[str, Any]
    verified: bool
    at: float

    @property
    def type(self) -> str:
        return str(self.body["type"])


@dataclass
class Receiver:
    secret: str = ""
    strict: bool = False
    latency_s: float = 0.0
    answer: Callable[[int], int] = lambda _n: 200  # the status for the n-th request (0-based)
    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        hook = Webhook(self.secret)
        if self.strict:
            try:
                hook.verify(body, headers)
                return True
            except WebhookVerificationError:
                return False
        at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        expected = hook.sign(headers["webhook-id"], at, body.decode())
        return expected in headers["webhook-signature"].split(" ")

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.latency_s:
                    time.sleep(receiver.latency_s)
                with receiver._lock:
                    n = len(receiver.arrivals)
                    receiver.arrivals.append(
                        Arrival(
                            headers["webhook-id"],
                            int(headers["webhook-timestamp"]),
                            json.loads(body),
                            receiver.verify(headers, body),
                            time.monotonic(),
                        )
                    )
                status = receiver.answer(n)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ids(self) -> list[str]:
        with self._lock:
            return [a.message_id for a in self.arrivals]
