"""The SDK's HTTP seam: one pooled, thread-safe HTTP client for every request the gateway makes.

Why a custom HTTP client: twilio-python 9 builds every URL as
``Domain.base_url`` ("https://api.twilio.com", hard-coded in ``rest/api/ApiBase.py``)
+ version + path, then hands the absolute URL to ``client.http_client.request``.
Swapping the HTTP client is the one documented seam that sees *every* request
(any domain, any resource), so it is where we (a) send requests to a local
stand-in or a mock server instead of api.twilio.com, (b) size the connection pool
for many sender threads, (c) use separate connect and read timeouts, and
(d) keep phone numbers and message text out of the logs (the SDK's own client
logs full URLs, query strings included, at INFO).
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.http import HttpClient
from twilio.http.response import Response

_log = logging.getLogger("integrations.twilio.client")  # the gateway's logger, as it always was


class HideQueries(logging.Filter):
    """urllib3 writes every request's URL into a DEBUG line, query string included; looking up a lost send puts
    the patient's number there (``?To=...``). Keep the line, drop the query."""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = self._QUERY.sub("?[query hidden]", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(HideQueries())


class RoutingHttpClient(HttpClient):
    """A thread-safe, pooled HTTP client for the SDK that can re-route api.twilio.com.

    One instance is shared by every thread using a gateway: the urllib3 pool
    is thread-safe, cookies are refused (so the session holds no mutable
    per-request state), and per-call extra headers live in a thread-local.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_pool: int = 64,
    ) -> None:
        super().__init__(_log, is_async=False, timeout=None)
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeouts = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Refuse every cookie: a shared session must not carry state between threads.
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        if self.base_url:
            # A local target must never be reached through an environment proxy.
            self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max_pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._local = threading.local()

    @contextmanager
    def extra_headers(self, headers: dict[str, str]) -> Iterator[None]:
        """Add headers to every request this thread makes inside the block."""
        previous = getattr(self._local, "headers", None)
        self._local.headers = {**(previous or {}), **headers}
        try:
            yield
        finally:
            self._local.headers = previous

    def route(self, url: str) -> str:
        """Rewrite a Twilio URL to the configured base URL, keeping path and query."""
        if not self.base_url:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            raise ValueError("refusing to route a non-Twilio URL while base_url is set")
        base = urlsplit(self.base_url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request; requests' exceptions propagate for the gateway to classify."""
        merged = {**(headers or {}), **(getattr(self._local, "headers", None) or {})}
        target = self.route(url)
        response = self.session.request(
            method.upper(),
            target,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=merged,
            auth=auth,
            timeout=(self.timeouts[0], timeout) if timeout else self.timeouts,
            allow_redirects=allow_redirects,
        )
        # Path only: the query string of a list call can hold a phone number.
        _log.debug("twilio %s %s -> %s", method.upper(), urlsplit(target).path, response.status_code)
        return Response(int(response.status_code), response.text, response.headers)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()
