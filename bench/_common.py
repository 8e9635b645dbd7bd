"""Shared plumbing for the benchmarks: databases, a waitress server in a subprocess, a
keep-alive HTTP load generator, percentiles and a watchdog.

Not a benchmark itself; the scripts next to it import it (``python bench/<script>.py``
puts this directory on ``sys.path``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from recall.common.db import Database, normalize_url
from recall.migrate import upgrade

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # the only permitted load target
PROTECTED_DATABASES = {"test"}  # the test-suite's database: never reset or load it
# ``create_app("production")`` refuses to start without these (config.check); the benchmarks send nothing to
# Twilio and take no webhook, so placeholders do (the console's SECRET_KEY signs only the bench's own cookies).
PRODUCTION_TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
    "TWILIO_AUTH_TOKEN": "bench-auth-token",
    "PUBLIC_BASE_URL": f"http://{HOST}",
    "SECRET_KEY": "bench-console-secret-key-of-40-chars!!!",
}


# --------------------------------------------------------------------------- arguments


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL; default: a fresh SQLite file in a temporary directory"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="drop every table first (PostgreSQL: DROP SCHEMA public CASCADE) so the run starts "
        "from an empty, freshly migrated database",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="hard stop for the whole run, in seconds (default %(default)s)"
    )


def bench_parser(description: str | None) -> argparse.ArgumentParser:
    """A script's parser: its docstring (``description``) as the help text, then the database arguments."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_args(parser)
    return parser


# --------------------------------------------------------------------------- databases


@dataclass
class BenchDatabase:
    url: str
    db: Database
    tempdir: str | None = None

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def describe(self) -> str:
        u = sa.engine.make_url(normalize_url(self.url))
        if u.get_backend_name() == "sqlite":
            return f"sqlite ({u.database})"
        return f"{u.get_backend_name()} ({u.host}:{u.port or 5432}/{u.database})"

    def close(self) -> None:
        self.db.dispose()
        if self.tempdir:
            shutil.rmtree(self.tempdir, ignore_errors=True)


def open_database(url: str | None, *, reset: bool) -> BenchDatabase:
    """A migrated database (Alembic, ``recall.migrate.upgrade``) for a benchmark run."""
    tempdir = None
    if url is None:
        tempdir = tempfile.mkdtemp(prefix="recall-bench-")
        url = f"sqlite:///{tempdir}/bench.db"
    parsed = sa.engine.make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" and parsed.database in PROTECTED_DATABASES:
        raise SystemExit(
            f"refusing to benchmark against the database {parsed.database!r} (the test-suite's); "
            "create one, e.g. createdb -h 127.0.0.1 -U postgres recall_bench"
        )
    if reset:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                for suffix in ("", "-wal", "-shm"):
                    Path(parsed.database + suffix).unlink(missing_ok=True)
        else:
            engine = sa.create_engine(normalize_url(url))
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            engine.dispose()
    db = Database(url)
    upgrade(db.engine)
    return BenchDatabase(url=url, db=db, tempdir=tempdir)


# --------------------------------------------------------------------------- figures


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; ``sorted_values`` must be sorted."""
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return sorted_values[lo]
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        s = sorted(self.seconds)
        return {
            "n": len(s),
            "mean_ms": 1000 * sum(s) / len(s) if s else math.nan,
            "p50_ms": 1000 * percentile(s, 0.50),
            "p95_ms": 1000 * percentile(s, 0.95),
            "p99_ms": 1000 * percentile(s, 0.99),
            "max_ms": 1000 * s[-1] if s else math.nan,
        }


def machine_note() -> str:
    """CPUs and load average: other work on the machine skews every figure, so say so in the output."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def fmt_ms(x: float) -> str:
    return f"{x:8.2f}"


# --------------------------------------------------------------------------- watchdog


class Watchdog:
    """Ends the process (and the servers it started) if the run overstays ``seconds``."""

    def __init__(self, seconds: float):
        self.cleanups: list[Callable[[], None]] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        print("\n!! watchdog: run exceeded its time limit; stopping", file=sys.stderr, flush=True)
        for cleanup in self.cleanups:
            try:
                cleanup()
            except Exception:
                pass
        os._exit(3)

    def cancel(self) -> None:
        self._timer.cancel()


# --------------------------------------------------------------------------- server subprocess


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


class Server:
    """``bench/_server.py`` in a subprocess: waitress on 127.0.0.1, a free port."""

    def __init__(
        self,
        app: str,
        database_url: str,
        *,
        threads: int = 8,
        max_seconds: float = 600,
        config_name: str = "production",
        extra_env: dict[str, str] | None = None,
    ):
        cmd = [
            sys.executable,
            str(HERE / "_server.py"),
            "--app",
            app,
            "--database-url",
            database_url,
            "--threads",
            str(threads),
            "--max-seconds",
            str(max_seconds),
            "--config",
            config_name,
        ]
        env = {**os.environ, **(extra_env or {})}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        self.port = self._await_port()

    def _await_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("LISTENING "):
                port = int(line.split()[1])
                self._wait_ready(port)
                return port
        self.stop()
        raise RuntimeError(f"the {self.__class__.__name__} did not start (exit code {self.proc.poll()})")

    def _wait_ready(self, port: int) -> None:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server never answered /healthz")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        return _proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


@contextmanager
def running_server(watchdog: Watchdog | None, *args: Any, **kwargs: Any) -> Iterator[Server]:
    server = Server(*args, **kwargs)
    if watchdog is not None:
        watchdog.cleanups.append(server.stop)
    try:
        yield server
    finally:
        server.stop()
        if watchdog is not None and server.stop in watchdog.cleanups:
            watchdog.cleanups.remove(server.stop)


# --------------------------------------------------------------------------- load generator


@dataclass
class Request:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


@dataclass
class LoadResult:
    latencies: Latencies
    wall_seconds: float
    ok: int
    errors: int
    error_samples: list[str]
    stopped_by_time: bool
    client_cpu_seconds: float
    server_cpu_seconds: float

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_seconds if self.wall_seconds else math.nan


class CountsCpu(Protocol):
    """A server under load whose CPU the load counts: ``Server`` here, ``_gunicorn.Gunicorn``."""

    def cpu_seconds(self) -> float: ...


def run_load(
    port: int, requests: list[Request], *, concurrency: int, max_seconds: float, server: CountsCpu | None = None
) -> LoadResult:
    """Send ``requests`` (each once) from ``concurrency`` threads, each with its own keep-alive connection.

    Stops when every request is sent or ``max_seconds`` have passed, whichever comes first.
    """
    lock = threading.Lock()
    position = iter(range(len(requests)))
    latencies: list[float] = []
    errors: list[str] = []
    ok_count = [0]
    deadline = time.monotonic() + max_seconds
    stopped_by_time = [False]
    start_barrier = threading.Barrier(concurrency + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        local_lat: list[float] = []
        local_err: list[str] = []
        local_ok = 0
        start_barrier.wait()
        while True:
            if time.monotonic() > deadline:
                stopped_by_time[0] = True
                break
            with lock:
                i = next(position, None)
            if i is None:
                break
            req = requests[i]
            body = json.dumps(req.body).encode() if req.body is not None else None
            headers = {**req.headers, **({"Content-Type": "application/json"} if body is not None else {})}
            t0 = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                local_err.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - t0
            if status == req.expect:
                local_ok += 1
                local_lat.append(elapsed)
            else:
                local_err.append(f"{status} {data[:300]!r}")
        conn.close()
        with lock:
            latencies.extend(local_lat)
            errors.extend(local_err)
            ok_count[0] += local_ok

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    srv0 = server.cpu_seconds() if server else math.nan
    start_barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(max_seconds + 120)
    wall = time.perf_counter() - t0
    return LoadResult(
        latencies=Latencies(latencies),
        wall_seconds=wall,
        ok=ok_count[0],
        errors=len(errors),
        error_samples=errors[:5],
        stopped_by_time=stopped_by_time[0],
        client_cpu_seconds=time.process_time() - cpu0,
        server_cpu_seconds=(server.cpu_seconds() - srv0) if server else math.nan,
    )


class KeepAliveClient:
    """One keep-alive connection for sequential requests (latency measurements)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()
