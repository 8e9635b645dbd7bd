"""A waitress server for the benchmarks, run as a subprocess by ``_common.Server``.

    python bench/_server.py --app recall|bare --database-url URL [--threads 8]

Binds 127.0.0.1 on a free port, prints ``LISTENING <port>`` and serves until
terminated, or until ``--max-seconds`` have passed (it never outlives a run).

``bare`` is the baseline: a Flask app with one endpoint that inserts one row
into ``bench_scratch`` and commits, through ``recall.db.Database`` (the same
engine settings as the service: on SQLite WAL, busy timeout, BEGIN IMMEDIATE
for writers; pool 10 + 20).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, request
from waitress.server import create_server

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PRODUCTION_TWILIO

from recall.common.db import Database, UTCDateTime

SCRATCH = sa.MetaData()
scratch_table = sa.Table(
    "bench_scratch",
    SCRATCH,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def bare_app(database_url: str) -> Flask:
    app = Flask("bare")
    db = Database(database_url)

    @app.post("/bare")
    def bare() -> dict[str, object]:
        body = request.get_json()
        with db.writer() as session:
            row_id = session.execute(
                scratch_table.insert()
                .values(payload=json.dumps(body), created_at=datetime.now(UTC))
                .returning(scratch_table.c.id)
            ).scalar_one()
            session.commit()
        return {"id": row_id}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def bare_from_env() -> Flask:
    """The baseline served by gunicorn (``bench/_gunicorn.py``): ``_server:bare_from_env()``, DATABASE_URL set."""
    return bare_app(os.environ["DATABASE_URL"])


def recall_app(database_url: str, config_name: str) -> Flask:
    from recall.web import create_app

    return create_app(config_name, {**PRODUCTION_TWILIO, "DATABASE_URL": database_url})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=("recall", "bare"), required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--config", default="production")
    args = parser.parse_args()

    logging.basicConfig(level=logging.ERROR)  # waitress's "task queue depth" warnings are expected under load
    app = bare_app(args.database_url) if args.app == "bare" else recall_app(args.database_url, args.config)
    server = create_server(app, host="127.0.0.1", port=0, threads=args.threads)
    stop = threading.Timer(args.max_seconds, lambda: os._exit(4))
    stop.daemon = True
    stop.start()
    print(f"LISTENING {server.effective_port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
