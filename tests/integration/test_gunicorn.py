"""The production process model: the web app under gunicorn (config/gunicorn.conf.py), several of them starting
together on an empty database.

Each server migrates in its master before its workers start, under the database's lock: all three come up, the
schema is made once, and every worker answers. Every process is killed in ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families

from recall.common.db import make_engine
from recall.migrate import alembic_config
from tests.integration._processes import StandInProcess, load_due_reminders, worker_env
from tests.integration.empty_databases import empty_url  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
FLASK = Path(sys.executable).with_name("flask")
DEADLINE = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(db_url: str, log: Path, *, workers: int = 1, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """A gunicorn master with ``workers`` workers on a free port, its output in ``log``."""
    port = _free_port()
    environment = {
        **worker_env(db_url, "http://127.0.0.1:9"),
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": str(workers),
        "WEB_THREADS": "2",
        **env,
    }
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the master and its workers: one group to kill
        )
    return proc, port


def wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # refused before the socket is bound, or a worker still loading
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn on {port} never got ready (exit {proc.poll()}):\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.slow
def test_three_gunicorn_servers_started_at_once_on_an_empty_database_all_serve(empty_url, tmp_path):
    servers = [start_gunicorn(empty_url, tmp_path / f"gunicorn-{n}.log", workers=2) for n in range(3)]
    try:
        for n, (proc, port) in enumerate(servers):
            wait_ready(proc, port, tmp_path / f"gunicorn-{n}.log")
            assert requests.get(f"http://127.0.0.1:{port}/api/v1/clinic", timeout=5).status_code == 401
    finally:
        for proc, _port in servers:
            stop(proc)
    head = ScriptDirectory.from_config(alembic_config(make_engine(empty_url))).get_current_head()
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    finally:
        engine.dispose()


def test_a_wrong_process_setting_stops_gunicorn_naming_the_variable(tmp_path):
    log = tmp_path / "gunicorn.log"
    proc, _port = start_gunicorn(f"sqlite:///{tmp_path / 'x.db'}", log, WEB_WORKERS="lots")
    try:
        proc.wait(DEADLINE)
    finally:
        stop(proc)
    assert proc.returncode != 0
    assert "WEB_WORKERS='lots' is not a whole number" in log.read_text()


METRICS_TOKEN = "metrics-token-of-the-gunicorn-test-0123"


def _clinic_401s(port: int, token: str | None) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=10)
    if answer.status_code != 200:
        return -answer.status_code
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            if s.name == "recall_http_requests_total" and s.labels == {
                "method": "GET", "route": "/api/v1/clinic", "status": "401",
            }:  # fmt: skip
                return s.value
    return 0.0


def _get_clinic(port: int) -> int:
    headers = {"Connection": "close"}
    return requests.get(f"http://127.0.0.1:{port}/api/v1/clinic", timeout=10, headers=headers).status_code


@pytest.mark.slow
def test_metrics_from_two_gunicorn_workers_add_up_and_an_unauthorised_scrape_is_refused(tmp_path):
    log = tmp_path / "gunicorn.log"
    proc, port = start_gunicorn(
        f"sqlite:///{tmp_path / 'metrics.db'}", log, workers=2, METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )  # fmt: skip
    try:
        wait_ready(proc, port, log)
        # In parallel batches until both workers have served some (the kernel may hand one worker every
        # connection for a while); then, whichever worker answers a scrape, the sum is every worker's.
        sent, counters = 0, tmp_path / "metrics"
        with ThreadPoolExecutor(8) as pool:
            while len(list(counters.glob("counter_*.db"))) < 2 and sent < 2000:
                assert set(pool.map(lambda _n: _get_clinic(port), range(40))) == {401}
                sent += 40
        assert len(list(counters.glob("counter_*.db"))) == 2, "both workers served requests"
        assert [_clinic_401s(port, METRICS_TOKEN) for _ in range(6)] == [float(sent)] * 6
        assert _clinic_401s(port, None) == -403
        assert _clinic_401s(port, "not-the-token") == -403
    finally:
        stop(proc)


@pytest.mark.slow
def test_a_workers_reminder_series_reach_the_web_apps_scrape(tmp_path, database, db_url):
    """A ``recall worker`` sharing the app's metrics directory: the sends it makes show in the app's /metrics."""
    metrics_dir = str(tmp_path / "metrics")
    load_due_reminders(database, 5, None)
    standin = StandInProcess.start(tmp_path / "standin.log")
    proc, port = start_gunicorn(db_url, tmp_path / "gunicorn.log", workers=2, METRICS_TOKEN=METRICS_TOKEN,
                                PROMETHEUS_MULTIPROC_DIR=metrics_dir, MIGRATE_ON_START="false")  # fmt: skip
    try:
        wait_ready(proc, port, tmp_path / "gunicorn.log")
        before = _series(port, "recall_reminders_total", {"channel": "sms", "outcome": "sent"})
        env = {**worker_env(db_url, standin.base_url), "PROMETHEUS_MULTIPROC_DIR": metrics_dir, "LOG_FORMAT": "json"}
        done = subprocess.run([str(FLASK), "--app", "wsgi", "recall", "worker", "--once"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=DEADLINE)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert _series(port, "recall_reminders_total", {"channel": "sms", "outcome": "sent"}) == before + 5
        assert _series(port, "recall_reminder_due_to_sent_seconds_count", {"channel": "sms"}) == 5
        sent_lines = [json.loads(line) for line in done.stderr.splitlines() if '"reminder sent"' in line]
        assert len(sent_lines) == 5 and {line["channel"] for line in sent_lines} == {"sms"}
        assert all(line["reminder_id"] and line["twilio_code"] is None for line in sent_lines)
    finally:
        stop(proc)
        standin.stop()


def _series(port: int, name: str, labels: dict[str, str]) -> float:
    answer = requests.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0
