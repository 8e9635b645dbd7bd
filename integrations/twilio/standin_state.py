"""What the Twilio stand-in knows: resources, injected faults, and a record of every request.

Kept apart from the HTTP plumbing so the rules (validation, error codes, JSON
shapes modelled on Twilio's 2010 API responses) read in one place and can be
driven without sockets. Every method is thread-safe. The values it holds
(a resource, a fault, a recorded request) are ``standin_model``.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from integrations.twilio.standin_model import (
    ANSWERED_BY,
    API_VERSION,
    E164,
    Fault,
    Recorded,
    Resource,
    new_sid,
    rfc2822,
    segments,
)


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
