"""gunicorn's settings for the web app in production: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

Workers and threads come from the environment, parsed and bounded like every other setting (a wrong value stops
the server with a message naming the variable):

==================  ==========  =================  ==========================================================
Variable            Type        Default            Meaning
==================  ==========  =================  ==========================================================
WEB_BIND            str         127.0.0.1:8000     address gunicorn listens on (behind the clinic's proxy)
WEB_WORKERS         int 1..64   the machine's      web worker processes
                                cores
WEB_THREADS         int 1..64   4                  threads per worker process (gthread)
WEB_TIMEOUT         int >= 5    60                 seconds a request may take before its worker is replaced
MIGRATE_ON_START    bool        true               migrate in the master before the workers start (under the
                                                   database lock, so servers starting together never race);
                                                   false when a release step runs ``recall migrate`` instead
==================  ==========  =================  ==========================================================

The reminder and webhook worker is its own process (``recall worker``, as many as wanted), never inside gunicorn.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

# Metrics from every worker, added up at each scrape (recall.web.metrics): the directory must be known before a
# worker imports prometheus_client. `recall worker`s on this machine given the same directory are counted too.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="recall-metrics-"))

from prometheus_client import multiprocess  # after the directory is set

from config import load as load_settings  # not "import config": gunicorn reads "config" as its own setting
from config.settings import ConfigError, Setting, from_environment
from recall.common.db import make_engine
from recall.migrate import upgrade

PROCESS_SETTINGS = (
    Setting("WEB_BIND", "str", "127.0.0.1:8000", "address gunicorn listens on"),
    Setting("WEB_WORKERS", "int", os.cpu_count() or 1, "web worker processes", at_least=1, at_most=64),
    Setting("WEB_THREADS", "int", 4, "threads per worker process", at_least=1, at_most=64),
    Setting("WEB_TIMEOUT", "int", 60, "seconds a request may take", at_least=5),
    Setting("MIGRATE_ON_START", "bool", True, "migrate in the master before the workers start"),
)
_process = {setting.name: setting.default for setting in PROCESS_SETTINGS}
_process.update(from_environment(os.environ, PROCESS_SETTINGS))

bind = _process["WEB_BIND"]
workers = _process["WEB_WORKERS"]
threads = _process["WEB_THREADS"]
worker_class = "gthread"
timeout = _process["WEB_TIMEOUT"]
graceful_timeout = 30
# No preload: each worker opens its own database pool after the fork, never sharing the master's sockets.
preload_app = False
accesslog = None  # the app logs its requests itself, without query strings that could carry a name or a phone


def on_starting(server: Any) -> None:
    """Before any worker starts: forget a previous run's metrics, and bring the schema up under the database's
    lock (recall/migrations/env.py)."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    if not _process["MIGRATE_ON_START"]:
        return
    try:
        settings = load_settings()
    except ConfigError as wrong:
        server.log.error("%s", wrong)
        raise SystemExit(2) from None
    engine = make_engine(settings["DATABASE_URL"], busy_timeout_ms=settings["SQLITE_BUSY_TIMEOUT_MS"])
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    server.log.info("database is at the latest revision")


def child_exit(_server: Any, worker: Any) -> None:
    """A worker that exits leaves its counters behind (they stay in the sums) but no live gauges."""
    multiprocess.mark_process_dead(worker.pid)
