"""What the Twilio stand-in knows: resources, injected faults, and a record of every request.

Kept apart from the HTTP plumbing so the rules (validation, error codes, JSON
shapes modelled on Twilio's 2010 API responses) read in one place and can be
driven without sockets. Every method is thread-safe.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
ERROR_TEXT = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required",
    21211: "Invalid 'To' Phone Number",
    21213: "No 'From' number is specified",
    21602: "Message body is required",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
    21604: "A 'To' phone number is required",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit",
}


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format, e.g. "Thu, 24 Aug 2023 05:01:45 +0000"."""
    return format_datetime(moment.astimezone(UTC)) if moment else None


def error_body(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's legacy error JSON (the shape the SDK turns into TwilioRestException)."""
    return {
        "code": code,
        "message": message or ERROR_TEXT.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def segments(body: str) -> int:
    """How many SMS segments Twilio bills for ``body`` (GSM-7 or UCS-2)."""
    if all(ch in GSM7 for ch in body):
        single, multi, length = 160, 153, len(body)
    else:
        single, multi, length = 70, 67, len(body.encode("utf-16-le")) // 2
    return 1 if length <= single else -(-length // multi)


@dataclass
class Fault:
    """One injected failure, consumed by matching create requests (``times=None``: forever)."""

    status: int | None = None
    code: int | None = None
    message: str | None = None
    slow_ms: int = 0
    timeout: bool = False
    drop: bool = False
    accept: bool = True
    hang_ms: int = 30_000
    # An accepted create whose answer is not the usual one (what Twilio, or a mock serving its spec, may say):
    # ``answer`` fields replace the created resource's in the 201 (``{"status": "failed", "error_code": 30007}``,
    # ``{"sid": None}``, a SID some earlier answer had); ``body`` is sent instead of JSON (a proxy's HTML page).
    answer: dict[str, Any] | None = None
    body: str | None = None
    to: str | None = None
    resource: str | None = None
    times: int | None = 1

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Fault:
        """Build from control-API JSON, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        fault = cls(**raw)
        if fault.resource not in (None, "Messages", "Calls"):
            raise ValueError("resource must be 'Messages' or 'Calls'")
        return fault

    def matches(self, resource: str, to: str | None) -> bool:
        return (self.resource in (None, resource)) and (self.to is None or self.to == to)


@dataclass
class Recorded:
    """One API request as the stand-in saw it; ``status`` is None when it was never answered."""

    method: str
    path: str
    resource: str | None
    form: dict[str, list[str]]
    idempotency_key: str | None
    status: int | None = None
    sid: str | None = None
    fault: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


#: What Twilio's answering-machine detection reports as ``AnsweredBy``.
ANSWERED_BY = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)


@dataclass
class Resource:
    """A Message or Call the stand-in created; ``json`` is exactly what GET returns."""

    kind: str
    json: dict[str, Any]
    status_callback: str | None = None
    url: str | None = None
    events: tuple[str, ...] = ()
    sequence: int = 0
    machine_detection: str | None = None  # a call's MachineDetection: Enable, DetectMessageEnd or none


class StandInState:
    """Resources, faults, latency and the request log behind one lock."""

    def __init__(self, account_sid: str | None, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.accounts: dict[str, str] = {}  # further accounts (a clinic's own, a subaccount): SID -> auth token
        self._lock = threading.Lock()
        self.release = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Forget everything and free any request hanging on a timeout fault."""
        with self._lock:
            self.release.set()
            self.release = threading.Event()
            self.latency_ms = 0
            self.auto_deliver = False
            self.faults: list[Fault] = []
            self.records: list[Recorded] = []
            self.resources: dict[str, Resource] = {}
            self.answers: dict[str, str] = {}  # destination number -> who picks up (AnsweredBy); else "human"
            self.in_flight = 0
            self.max_in_flight = 0

    # -- accounting -------------------------------------------------------
    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.records.append(entry)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def take_fault(self, resource: str, to: str | None) -> Fault | None:
        """Return (and use up one time of) the first fault matching this request."""
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.matches(resource, to):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self.faults[index]
                    return fault
        return None

    def fault_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self.faults]

    def add_account(self, account_sid: str, auth_token: str) -> None:
        """Serve a further account, with its own auth token (its requests and webhooks use that one)."""
        with self._lock:
            self.accounts[account_sid] = auth_token

    def token_for(self, account_sid: str) -> str:
        """The auth token an account's requests carry and its webhooks are signed with."""
        with self._lock:
            return self.accounts.get(account_sid, self.auth_token)

    def set_answered_by(self, to: str, answered_by: str | None) -> None:
        """Who picks up calls to ``to`` (None: a person, the default)."""
        if answered_by is not None and answered_by not in ANSWERED_BY:
            raise ValueError(f"answered_by must be one of {', '.join(ANSWERED_BY)}")
        with self._lock:
            if answered_by is None:
                self.answers.pop(to, None)
            else:
                self.answers[to] = answered_by

    def answered_by(self, resource: Resource) -> str | None:
        """What Twilio reports as AnsweredBy for this call: nothing unless it asked for detection. ``Enable``
        answers as soon as it knows, so a machine is "machine_start" there; ``DetectMessageEnd`` waits for the
        greeting's end (machine_end_beep, _silence, _other)."""
        if resource.machine_detection is None:
            return None
        with self._lock:
            answer = self.answers.get(resource.json["to"] or "", "human")
        if resource.machine_detection == "Enable" and answer.startswith("machine_end"):
            return "machine_start"
        return answer

    def authorized(self, account_sid: str, username: str | None, password: str | None) -> bool:
        """Basic auth must name the account in the path and carry its auth token."""
        if username != account_sid or not secrets.compare_digest(password or "", self.token_for(account_sid)):
            return False
        with self._lock:
            further = account_sid in self.accounts
        return further or self.account_sid in (None, account_sid)

    def get(self, sid: str) -> Resource | None:
        with self._lock:
            return self.resources.get(sid)

    def find(self, kind: str, to: str | None, from_: str | None = None) -> list[dict[str, Any]]:
        """Resources of one kind, newest first, optionally for one destination (and from one number)."""
        with self._lock:
            found = [r.json for r in self.resources.values() if r.kind == kind]
        return [
            dict(r)
            for r in reversed(found)
            if (to is None or r.get("to") == to) and (from_ is None or r.get("from") == from_)
        ]

    def update(self, sid: str, **changes: Any) -> Resource:
        """Change fields of a resource's JSON (a status change also bumps date_updated)."""
        with self._lock:
            resource = self.resources[sid]
            resource.json.update(changes, date_updated=rfc2822(datetime.now(UTC)))
            return resource

    def next_sequence(self, sid: str) -> int:
        with self._lock:
            resource = self.resources[sid]
            sequence = resource.sequence
            resource.sequence += 1
            return sequence

    # -- creation ---------------------------------------------------------
    def validate_message(self, form: dict[str, str]) -> tuple[int, int] | None:
        """The first Twilio validation error (status, code) for a Message create, if any."""
        if not form.get("To"):
            return 400, 21604
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, 21603
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return 400, 21602
        if not E164.match(form["To"]):
            return 400, 21211
        if len(form.get("Body", "")) > 1600:
            return 400, 21617
        return None

    def validate_call(self, form: dict[str, str]) -> tuple[int, int] | None:
        """The first Twilio validation error (status, code) for a Call create, if any."""
        if not form.get("To"):
            return 400, 21201
        if not form.get("From"):
            return 400, 21213
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return 400, 21205
        if not E164.match(form["To"]):
            return 400, 21211
        return None

    def create_message(self, account_sid: str, form: dict[str, str], *, direction: str = "outbound-api") -> Resource:
        """Store a new Message and return it (status "queued", or "accepted" via a service)."""
        sid, now = new_sid("SM"), rfc2822(datetime.now(UTC))
        service = form.get("MessagingServiceSid")
        from_ = form.get("From") or None
        status = "received" if direction == "inbound" else ("accepted" if service and not from_ else "queued")
        body = form.get("Body", "")
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
        payload = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form.get("To"),
            "uri": f"{uri}.json",
        }
        resource = Resource("Messages", payload, status_callback=form.get("StatusCallback") or None)
        with self._lock:
            self.resources[sid] = resource
        return resource

    def create_call(self, account_sid: str, form: dict[str, str], events: list[str]) -> Resource:
        """Store a new outbound Call in status "queued" and return it."""
        sid, now = new_sid("CA"), rfc2822(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
        subresources = ("notifications", "recordings", "payments", "events", "siprec", "streams")
        payload = {
            "account_sid": account_sid,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": form.get("From"),
            "from_formatted": form.get("From"),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": new_sid("PN"),
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {name: f"{uri}/{name.capitalize()}.json" for name in subresources},
            "to": form.get("To"),
            "to_formatted": form.get("To"),
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }
        resource = Resource(
            "Calls",
            payload,
            status_callback=form.get("StatusCallback") or None,
            url=form.get("Url") or None,
            events=tuple(e.lower() for e in events),
            machine_detection=form.get("MachineDetection") or None,
        )
        with self._lock:
            self.resources[sid] = resource
        return resource
