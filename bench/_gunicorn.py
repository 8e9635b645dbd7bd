"""gunicorn from ``config/gunicorn.conf.py`` in a subprocess, for the benches that measure the production server."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import PRODUCTION_TWILIO, Server, Watchdog, _proc_cpu_seconds, running_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """``app`` is gunicorn's app spec: recall's own (``wsgi:app``), or the bare baseline (``_server:bare_from_env()``,
    found on ``bench/``)."""

    def __init__(
        self,
        database_url: str,
        workers: int,
        threads: int,
        extra_env: dict[str, str] | None = None,
        app: str = "wsgi:app",
    ):
        self.port = free_port()
        env = {
            **os.environ,
            **PRODUCTION_TWILIO,
            "RECALL_ENV": "production",
            "DATABASE_URL": database_url,
            "WEB_BIND": f"127.0.0.1:{self.port}",
            "WEB_WORKERS": str(workers),
            "WEB_THREADS": str(threads),
            "MIGRATE_ON_START": "false",
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.proc = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "--pythonpath", str(HERE), app],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b"200" in conn.recv(64):
                        time.sleep(1.0 * workers)  # every worker loaded its app, not only the first
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        """The worker processes' ids: the master's children."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                return [int(pid) for pid in f.read().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (a worker replaced meanwhile is not counted)."""
        return sum(_proc_cpu_seconds(pid) for pid in [self.proc.pid, *self.workers()])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def add_server_args(parser: argparse.ArgumentParser, default: str) -> None:
    """``--server`` (gunicorn or waitress), ``--server-workers`` and ``--server-threads``, as every HTTP bench takes."""
    parser.add_argument(
        "--server", choices=("gunicorn", "waitress"), default=default, help="the HTTP server (default %(default)s)"
    )
    parser.add_argument(
        "--server-workers", type=int, default=os.cpu_count() or 1, help="gunicorn worker processes (default: cores)"
    )
    parser.add_argument(
        "--server-threads", type=int, default=8, help="threads of all the server's processes together (default 8)"
    )


def threads_per_worker(args: argparse.Namespace) -> int:
    return max(1, args.server_threads // args.server_workers)


def describe_server(args: argparse.Namespace) -> str:
    if args.server == "waitress":
        return f"waitress, 1 process, {args.server_threads} threads"
    return f"gunicorn gthread, {args.server_workers} worker processes of {threads_per_worker(args)} threads"


@contextmanager
def serving(
    args: argparse.Namespace,
    app: str,
    database_url: str,
    watchdog: Watchdog,
    *,
    config_name: str = "production",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server | Gunicorn]:
    """``app`` ("recall" or "bare") served as ``--server`` says: gunicorn with its workers, or waitress in one
    process. Either has ``port`` and ``cpu_seconds()``."""
    if args.server == "waitress":
        with running_server(
            watchdog,
            app,
            database_url,
            threads=args.server_threads,
            max_seconds=args.timeout,
            config_name=config_name,
            extra_env=extra_env,
        ) as server:
            yield server
        return
    spec = "_server:bare_from_env()" if app == "bare" else "wsgi:app"
    env = {"RECALL_ENV": config_name, **(extra_env or {})}
    gunicorn = Gunicorn(database_url, args.server_workers, threads_per_worker(args), extra_env=env, app=spec)
    watchdog.cleanups.append(gunicorn.stop)
    try:
        yield gunicorn
    finally:
        gunicorn.stop()
        watchdog.cleanups.remove(gunicorn.stop)
