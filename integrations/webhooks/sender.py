"""The webhook sender: one POST per delivery, signed per Standard Webhooks with the ``standardwebhooks`` package.

Headers: ``webhook-id`` (the event's id, the same on every attempt), ``webhook-timestamp`` (this attempt's,
in Unix seconds) and ``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under
the endpoint's secret). Redirects are not followed (a 3xx is not a delivery). Every failure of the network is an
answer without a status, never an exception; the response body is not read beyond what requests reads.
"""

from __future__ import annotations

import time
from datetime import UTC

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

from recall.events.port import WebhookAnswer, WebhookRequest

USER_AGENT = "recall-webhooks/1"


class HttpWebhookSender:
    """``recall.events.port.WebhookSender`` over requests, with a connection pool of ``pool`` per host."""

    def __init__(self, *, timeout: float = 10.0, pool: int = 8) -> None:
        self.timeout = timeout
        self._http = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=0)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._http.trust_env = False  # no proxy or netrc from the environment decides where events go

    def send(self, request: WebhookRequest) -> WebhookAnswer:
        at = request.timestamp.astimezone(UTC)
        try:
            signature = Webhook(request.secret).sign(request.message_id, at, request.body)
        except Exception:  # a secret that is not whsec_ + base64: the endpoint cannot be signed for
            return WebhookAnswer(None, 0, "the endpoint's signing secret is not valid")
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": request.message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }
        started = time.perf_counter()
        try:
            answer = self._http.post(
                request.url,
                data=request.body.encode(),
                headers=headers,
                timeout=(min(5.0, self.timeout), self.timeout),
                allow_redirects=False,
            )
            answer.close()
        except requests.Timeout:
            return WebhookAnswer(None, _ms(started), "timed out")
        except requests.ConnectionError:
            return WebhookAnswer(None, _ms(started), "could not connect")
        except requests.RequestException as exc:
            return WebhookAnswer(None, _ms(started), f"request failed: {type(exc).__name__}")
        return WebhookAnswer(answer.status_code, _ms(started))

    def close(self) -> None:
        self._http.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
