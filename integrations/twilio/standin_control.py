"""The stand-in's HTTP control API under ``/_standin/`` (JSON in, JSON out).

For driving a stand-in that runs in another process (``python -m
integrations.twilio``): the same operations as the ``StandIn`` methods.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.twilio.standin import StandIn


def _webhook(result: Any) -> dict[str, Any]:
    return {"delivered": False} if result is None else {"delivered": True, **asdict(result)}


def handle_control(standin: StandIn, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    """Run one control request; returns (HTTP status, JSON payload)."""
    try:
        body: Any = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return 400, {"error": "body must be JSON"}
    name = path.removeprefix("/_standin/").strip("/")
    try:
        if method == "GET":
            return _read(standin, name)
        if method != "POST":
            return 405, {"error": "use GET or POST"}
        return _write(standin, name, body)
    except KeyError as error:
        return 404, {"error": f"unknown sid {error}"}
    except (TypeError, ValueError) as error:
        return 400, {"error": str(error)}
    except OSError as error:
        return 502, {"error": f"webhook failed: {type(error).__name__}"}


def _read(standin: StandIn, name: str) -> tuple[int, Any]:
    if name == "requests":
        return 200, [asdict(entry) for entry in standin.requests]
    if name == "faults":
        return 200, standin.state.fault_list()
    if name == "messages":
        return 200, standin.messages()
    if name == "calls":
        return 200, standin.calls()
    if name == "stats":
        return 200, {
            "max_concurrency": standin.max_concurrency,
            "latency_ms": standin.state.latency_ms,
            "auto_deliver": standin.state.auto_deliver,
        }
    return 404, {"error": f"no control endpoint GET {name}"}


def _write(standin: StandIn, name: str, body: Any) -> tuple[int, Any]:
    if name == "reset":
        standin.reset()
        return 200, {"reset": True}
    if name == "accounts":
        standin.add_account(str(body["account_sid"]), str(body["auth_token"]))
        return 200, {"accounts": sorted(standin.state.accounts)}
    if name == "latency":
        standin.set_latency(int(body.get("ms", 0)))
        return 200, {"latency_ms": standin.state.latency_ms}
    if name == "auto_deliver":
        standin.set_auto_deliver(bool(body.get("enabled", True)))
        return 200, {"auto_deliver": standin.state.auto_deliver}
    if name == "faults":
        for spec in body if isinstance(body, list) else [body]:
            standin.add_fault(**spec)
        return 200, standin.state.fault_list()
    if name == "deliver":
        result = standin.deliver(body["message_sid"], body.get("status", "delivered"), body.get("error_code"))
        return 200, _webhook(result)
    if name == "call_status":
        return 200, _webhook(standin.call_status(body["call_sid"], body["status"], body.get("duration")))
    if name == "answer":
        return 200, _webhook(standin.answer(body["call_sid"]))
    if name == "inbound_sms":
        return 200, _webhook(
            standin.inbound_sms(
                body["from"],
                body["to"],
                body["body"],
                body["url"],
                body.get("account_sid"),
                body.get("messaging_service_sid"),
            )
        )
    if name == "answered_by":  # {"to": "+46...", "answered_by": "machine_end_beep"}; null: a person again
        standin.set_answered_by(body["to"], body.get("answered_by"))
        return 200, {"to": body["to"], "answered_by": standin.state.answers.get(body["to"], "human")}
    if name == "press_key":
        return 200, _webhook(standin.press_key(body["call_sid"], str(body["digits"]), body["url"]))
    return 404, {"error": f"no control endpoint POST {name}"}
