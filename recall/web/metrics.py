"""``/metrics`` in the Prometheus text format, correct with several processes (prometheus-client's multiprocess
mode), and the web app's own series.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn's config sets it for its workers, and ``recall worker``s on the
same machine share it), every process writes its counters and histograms to files there and a scrape adds them
up; without it (one process) the default registry is read. What the database knows (the queue's depth by clinic
and state, leases that lapsed) is read at scrape time by ``QueueCollector``, once, whichever process answers.

The scrape is refused (403) unless it carries ``Authorization: Bearer <METRICS_TOKEN>`` or comes from an address
in ``METRICS_ALLOW``; with neither configured, nobody may scrape. No label names a patient: routes are templates,
clinics are ids.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from werkzeug.wrappers import Response

from recall.common.clock import Clock
from recall.common.db import Database
from recall.queue.tasks import RecallTask, TaskStatus
from recall.web.errors import payload

REQUESTS = Counter("recall_http_requests", "HTTP requests answered, by method, route template and status",
                   ["method", "route", "status"])  # fmt: skip
LATENCY = Histogram(
    "recall_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class QueueCollector(Collector):
    """The recall queue as the database holds it at scrape time: waiting tasks by clinic and state, and the leases
    that lapsed (held by nobody any more, the operator gone quiet)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database, self.clock = database, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        t = RecallTask
        depth = GaugeMetricFamily(
            "recall_queue_tasks", "Recall tasks waiting, by clinic and state", labels=["clinic", "state"]
        )
        lapsed = GaugeMetricFamily(
            "recall_queue_leases_lapsed", "Open tasks whose lease ran out, by clinic", labels=["clinic"]
        )
        leased = sa.and_(t.lease_holder_id.is_not(None), t.lease_expires_at > now)
        gone = sa.and_(t.lease_holder_id.is_not(None), t.lease_expires_at <= now)
        state = sa.case(
            (t.status == TaskStatus.PARKED, "parked"),
            (leased, "leased"),
            (t.due_at > now, "not_yet_due"),
            else_="due",
        )
        with self.database.reader() as s:
            rows = s.execute(
                sa.select(t.clinic_id, state.label("state"), sa.func.count(), sa.func.sum(sa.case((gone, 1), else_=0)))
                .where(t.status.in_((TaskStatus.OPEN, TaskStatus.PARKED)))
                .group_by(t.clinic_id, state)
            ).all()
        lapsed_by_clinic: dict[int, int] = {}
        for clinic_id, name, count, gone_count in rows:
            depth.add_metric([str(clinic_id), name], count)
            lapsed_by_clinic[clinic_id] = lapsed_by_clinic.get(clinic_id, 0) + int(gone_count or 0)
        for clinic_id, count in sorted(lapsed_by_clinic.items()):
            lapsed.add_metric([str(clinic_id)], count)
        yield depth
        yield lapsed


def _allowed(app: Flask) -> bool:
    token = app.config["METRICS_TOKEN"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    allowed = app.config["METRICS_ALLOW"]
    if allowed and request.remote_addr:
        try:
            address = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            return False
        return any(
            address in ipaddress.ip_network(net.strip(), strict=False) for net in allowed.split(",") if net.strip()
        )
    return False


def exposition(database: Database, clock: Clock) -> bytes:
    """Every process's series (or this one's, without the multiprocess directory), then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    from_database = CollectorRegistry()
    from_database.register(QueueCollector(database, clock))
    return generate_latest(processes) + generate_latest(from_database)


def install(app: Flask) -> None:
    """Count every request, and answer ``GET /metrics`` to those allowed."""

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Any:
        if not _allowed(app):
            return payload(403, "forbidden", "scraping needs the metrics token or an allowed address"), 403
        body = exposition(app.extensions["recall.db"], app.extensions["recall.clock"])
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
