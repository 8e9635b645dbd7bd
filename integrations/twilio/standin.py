"""A local, faithful stand-in for the parts of Twilio's 2010 REST API that recall uses.

Real HTTP (HTTP/1.1 keep-alive, one thread per connection) so that the real
SDK, through the real gateway, is exercised end to end: Messages and Calls
create and fetch, basic auth, Twilio's error JSON, plus what a test needs and
Twilio cannot give: injected faults (per destination number, N times), latency,
a request log, and signed webhooks on demand (delivery receipts, call progress,
inbound SMS, key presses), and who picks up a number's calls (``AnsweredBy``, for
calls that ask for machine detection). Control it from Python (``StandIn``) or over HTTP
under ``/_standin/``. It binds to 127.0.0.1 and posts only to loopback targets.

This module is the control surface and the webhooks it posts; the HTTP server and how it answers the API is
``standin_http``, what it knows (resources, faults, the request log) ``standin_state``.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from integrations.twilio.standin_http import StandInServer
from integrations.twilio.standin_model import API_VERSION, Fault, Recorded, Resource, segments
from integrations.twilio.standin_state import StandInState
from integrations.twilio.standin_webhooks import WebhookResponse, post_webhook

# Call statuses -> the StatusCallbackEvent that reports them ("completed" is always sent).
_EVENT_OF = {"initiated": "initiated", "queued": "initiated", "ringing": "ringing", "in-progress": "answered"}


class StandIn:
    """The stand-in server and its control surface.

    Typical use: ``base_url = standin.start()``, point a TwilioGateway at it, then
    ``standin.add_fault(status=400, code=21211, to="+46700000013", times=None)``
    to make one number always invalid, and ``standin.deliver(sid)`` to send a receipt.
    """

    def __init__(
        self,
        port: int = 0,
        auth_token: str = "standin-auth-token",
        account_sid: str | None = None,
        *,
        host: str = "127.0.0.1",
        allow_remote_callbacks: bool = False,
    ) -> None:
        self.state = StandInState(account_sid, auth_token)
        self.auth_token = auth_token
        self.allow_remote_callbacks = allow_remote_callbacks
        self._address = (host, port)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.base_url = ""

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> str:
        """Serve in a background thread; returns the base URL (e.g. "http://127.0.0.1:41234")."""
        self._server = StandInServer(self._address, self)
        self.base_url = f"http://{self._address[0]}:{self._server.server_port}"
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="standin-callbacks")
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="twilio-standin", daemon=True
        )
        self._thread.start()
        return self.base_url

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command-line entry point)."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, free hung requests and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self.state.release.set()
        server.shutdown()
        with server.conn_lock:
            for connection in list(server.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ------------------------------------------------------------
    def reset(self) -> None:
        """Forget messages, calls, faults, latency and the request log."""
        self.state.reset()

    def add_account(self, account_sid: str, auth_token: str) -> None:
        """Serve a second (third, ...) account with its own auth token, as a clinic's own account or a
        subaccount: its API requests must carry that token, and its webhooks are signed with it."""
        self.state.add_account(account_sid, auth_token)

    def set_latency(self, ms: int) -> None:
        """Delay every API request by ``ms`` (each in its own thread: delays overlap)."""
        self.state.latency_ms = max(0, int(ms))

    #: Seconds between a created message and its first auto-delivered receipt. Twilio's receipts come after its
    #: answer to the create (a carrier is involved), and recall acts only on a receipt for a SID it recorded.
    AUTO_DELIVER_AFTER = 1.0

    def set_auto_deliver(self, enabled: bool) -> None:
        """After each created message, post "sent" then "delivered" to its StatusCallback (after a second)."""
        self.state.auto_deliver = bool(enabled)

    def add_fault(self, **spec: Any) -> None:
        """Queue a fault, e.g. ``add_fault(status=429, code=20429, times=2)`` or ``add_fault(timeout=True)``."""
        self.state.add_fault(Fault.from_dict(spec))

    @property
    def requests(self) -> list[Recorded]:
        """Every API request received so far, oldest first."""
        return list(self.state.records)

    @property
    def max_concurrency(self) -> int:
        """The most API requests that were in progress at the same moment."""
        return self.state.max_in_flight

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Created messages (as GET would return them), newest first."""
        return self.state.find("Messages", to)

    def calls(self, to: str | None = None) -> list[dict[str, Any]]:
        """Created calls, newest first."""
        return self.state.find("Calls", to)

    # -- webhooks -------------------------------------------------------------
    def deliver(
        self, message_sid: str, status: str = "delivered", error_code: int | None = None
    ) -> WebhookResponse | None:
        """Set a message's status and post it to its StatusCallback (None when it has none)."""
        changes: dict[str, Any] = {"status": status, "error_code": error_code}
        resource = self.state.get(message_sid)
        if resource is None:
            raise KeyError(message_sid)
        if status in ("sent", "delivered") and not resource.json.get("date_sent"):
            changes["date_sent"] = resource.json["date_updated"]
        resource = self.state.update(message_sid, **changes)
        if not resource.status_callback:
            return None
        data = resource.json
        params = [
            ("MessageSid", message_sid),
            ("SmsSid", message_sid),
            ("AccountSid", data["account_sid"]),
            ("From", data["from"] or ""),
            ("To", data["to"]),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ApiVersion", API_VERSION),
        ]
        if data.get("messaging_service_sid"):
            params.append(("MessagingServiceSid", data["messaging_service_sid"]))
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        return self._post(resource.status_callback, params, data["account_sid"])

    def call_status(self, call_sid: str, status: str, duration: int | None = None) -> WebhookResponse | None:
        """Set a call's status and post it to its StatusCallback if that event was subscribed."""
        resource = self.state.update(call_sid, status=status)
        event = _EVENT_OF.get(status, "completed")
        if not resource.status_callback or (event != "completed" and event not in resource.events):
            return None
        params = self._call_params(resource) + [
            ("CallStatus", status),
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", str(self.state.next_sequence(call_sid))),
            ("Timestamp", resource.json["date_updated"]),
        ]
        if status in ("in-progress", "completed"):  # the call was picked up: detection has its answer
            params += self._answered_by(resource)
        if event == "completed":
            params += [("CallDuration", str(duration or 0)), ("Duration", str(-(-(duration or 0) // 60)))]
        return self._post(resource.status_callback, params, resource.json["account_sid"])

    def answer(self, call_sid: str) -> WebhookResponse:
        """The callee picks up: fetch the call's TwiML from its Url (POST, as Twilio does)."""
        resource = self.state.update(call_sid, status="in-progress")
        if not resource.url:
            raise ValueError("this call has no Url")
        return self._post(
            resource.url,
            self._call_params(resource) + [("CallStatus", "in-progress")] + self._answered_by(resource),
            resource.json["account_sid"],
        )

    def set_answered_by(self, to: str, answered_by: str | None) -> None:
        """Who picks up calls to ``to``: "human" (the default, also for None), "machine_end_beep", "fax", ...
        Reported as AnsweredBy, as Twilio does, only for calls that asked for MachineDetection."""
        self.state.set_answered_by(to, answered_by)

    def _answered_by(self, resource: Resource) -> list[tuple[str, str]]:
        """AnsweredBy, on the script's request and the status callbacks once picked up (and on the resource)."""
        answer = self.state.answered_by(resource)
        if answer is None:
            return []
        self.state.update(resource.json["sid"], answered_by=answer)
        return [("AnsweredBy", answer)]

    def press_key(self, call_sid: str, digits: str, url: str) -> WebhookResponse:
        """Post a <Gather> result to ``url`` (the Gather's action)."""
        resource = self.state.get(call_sid)
        if resource is None:
            raise KeyError(call_sid)
        params = self._call_params(resource) + [
            ("CallStatus", "in-progress"),
            ("Digits", digits),
            ("FinishedOnKey", ""),
            ("msg", "Gather End"),
        ]
        return self._post(url, params, resource.json["account_sid"])

    def inbound_sms(
        self,
        from_: str,
        to: str,
        body: str,
        url: str,
        account_sid: str | None = None,
        messaging_service_sid: str | None = None,
    ) -> WebhookResponse:
        """A patient texts the clinic's number (of ``account_sid``, in a Messaging Service's pool if given):
        post the incoming message to ``url``, signed with that account's token."""
        account = account_sid or self.state.account_sid or "AC" + "0" * 32
        resource = self.state.create_message(account, {"From": from_, "To": to, "Body": body}, direction="inbound")
        sid = resource.json["sid"]
        params = [
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("SmsMessageSid", sid),
            ("AccountSid", account),
            ("From", from_),
            ("To", to),
            ("Body", body),
            ("NumMedia", "0"),
            ("NumSegments", str(segments(body))),
            ("SmsStatus", "received"),
            ("ApiVersion", API_VERSION),
        ]
        if messaging_service_sid:
            params.append(("MessagingServiceSid", messaging_service_sid))
        return self._post(url, params, account)

    def _call_params(self, resource: Resource) -> list[tuple[str, str]]:
        data = resource.json
        return [
            ("CallSid", data["sid"]),
            ("AccountSid", data["account_sid"]),
            ("From", data["from"]),
            ("To", data["to"]),
            ("Called", data["to"]),
            ("Caller", data["from"]),
            ("Direction", "outbound-api"),
            ("ApiVersion", API_VERSION),
        ]

    def _post(self, url: str, params: list[tuple[str, str]], account_sid: str) -> WebhookResponse:
        """Post a webhook signed, as Twilio signs it, with the auth token of the account it is about."""
        return post_webhook(
            url, params, auth_token=self.state.token_for(account_sid), allow_remote=self.allow_remote_callbacks
        )

    def deliver_later(self, sid: str) -> None:
        """Auto-deliver a message just created (``set_auto_deliver``): in the background, after a second."""
        if self._pool is not None:
            self._pool.submit(self._auto_deliver, sid)

    def _auto_deliver(self, sid: str) -> None:
        if self.state.release.wait(self.AUTO_DELIVER_AFTER):
            return  # stopped or reset meanwhile
        for status in ("sent", "delivered"):
            try:
                self.deliver(sid, status)
            except (OSError, KeyError, ValueError):
                return  # the receiver is gone or the state was reset: nothing to report to
