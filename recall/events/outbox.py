"""``emit``: a change announces itself in its own transaction.

The use case that makes a change calls ``emit`` with the session (or Core connection) it writes the change
with, before it commits. ``emit`` writes the event (its body, exactly as it will be sent) and one pending
delivery per enabled endpoint of the clinic subscribed to the type. The change and its announcement commit or
roll back together: an announced change happened, a change that happened is announced.

The fan-out happens here rather than in the worker: who hears of an event is decided when it happens (an
endpoint registered later does not get the past), the worker needs no second cursor over the events, and the
delivery ids follow the order in which the changes of one resource committed (such changes hold that
resource's row lock, or SQLite's one write lock), which is the order the worker keeps per endpoint. The price
is one indexed read of the clinic's endpoints per transaction that announces something. A clinic with no
endpoint for a type writes nothing.
"""

from __future__ import annotations

import enum
import json
import secrets
import weakref
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.common.clock import ensure_utc
from recall.events.tables import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from recall.events.types import EventType, Resource

_ENDPOINTS = sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
    WebhookEndpoint.clinic_id == sa.bindparam("clinic_id"), WebhookEndpoint.enabled.is_(True)
)
_MEMO = "recall.events.endpoints"  # in the session's (or connection's) info: (transaction, clinic, endpoints)
_EVENT = sa.insert(OutboxEvent).returning(OutboxEvent.id)
# The delivery this one comes after: the last of the same resource to the same endpoint.
_LAST = sa.select(sa.func.max(WebhookDelivery.id)).where(
    WebhookDelivery.endpoint_id == sa.bindparam("endpoint_id"), WebhookDelivery.resource_key == sa.bindparam("key")
)


def emit(
    db: Session | sa.Connection,
    clinic_id: int,
    type: EventType,
    resource: Resource,
    data: Mapping[str, Any],
    *,
    now: datetime,
) -> int | None:
    """Announce ``type`` about ``resource`` in ``db``'s transaction (the caller commits); returns the event's id,
    or None when no enabled endpoint of the clinic subscribes to the type."""
    subscribed = [endpoint_id for endpoint_id, types in _endpoints(db, clinic_id) if type.value in types]
    if not subscribed:
        return None
    uid = "msg_" + secrets.token_hex(12)
    body = {
        "type": type.value,
        "timestamp": _instant(now),
        "data": {"object": resource.type.value, "id": resource.id, "clinic_id": clinic_id, **data},
    }
    event_id = db.execute(
        _EVENT,
        {
            "uid": uid,
            "clinic_id": clinic_id,
            "type": type.value,
            "resource_type": resource.type.value,
            "resource_id": resource.id,
            "payload": json.dumps(body, default=_plain, ensure_ascii=False, separators=(",", ":")),
            "occurred_at": now,
        },
    ).scalar_one()
    db.execute(
        sa.insert(WebhookDelivery),
        [
            {
                "clinic_id": clinic_id,
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "event_type": type.value,
                "resource_key": resource.key,
                "after_id": db.scalar(_LAST, {"endpoint_id": endpoint_id, "key": resource.key}),
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in subscribed
        ],
    )
    return int(event_id)


def _endpoints(db: Session | sa.Connection, clinic_id: int) -> list[tuple[int, frozenset[str]]]:
    """The clinic's enabled endpoints and the types each subscribes to, read once per transaction: a change that
    announces several events (a booking and its credit) reads them once. The memo names its transaction (weakly:
    an ended one is not kept alive), so the next transaction reads afresh."""
    txn = db.get_transaction()
    memo = db.info.get(_MEMO)
    if txn is not None and memo is not None and memo[0]() is txn and memo[1] == clinic_id:
        return memo[2]
    rows = [
        (endpoint_id, frozenset(json.loads(types)))
        for endpoint_id, types in db.execute(_ENDPOINTS, {"clinic_id": clinic_id})
    ]
    db.info[_MEMO] = (weakref.ref(db.get_transaction()), clinic_id, rows)
    return rows


def _instant(value: datetime) -> str:
    return ensure_utc(value).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """What JSON has no word for: instants in UTC (Z), days, enums by value, exact amounts."""
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"an event's data cannot hold a {type(value).__name__}")
