"""The stand-in's tests run one stand-in per module under their own account (reset between tests), not the root
conftest's per-test one, and a webhook receiver of their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from integrations.twilio.client import TwilioGateway
from integrations.twilio.standin import StandIn
from tests.api.standin.helpers import ACCOUNT, TOKEN, Receiver


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn(auth_token=TOKEN, account_sid=ACCOUNT) as server:
        yield server


@pytest.fixture
def twilio(standin: StandIn) -> Iterator[StandIn]:
    standin.reset()
    yield standin
    standin.reset()


@pytest.fixture
def gateway(twilio: StandIn) -> Iterator[TwilioGateway]:
    yield (gw := TwilioGateway(ACCOUNT, TOKEN, base_url=twilio.base_url, timeout=1.0))
    gw.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = dict(parse_qsl(body, keep_blank_values=True))
            box["r"].hits.append({"path": self.path, "headers": dict(self.headers), "form": form})
            payload = box["r"].reply.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()
    thread.join()
