"""``recall check-config`` says what the environment's settings lack or risk, without starting the service and
without showing a secret; ``recall <command>`` runs the app's commands by their short names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.audit import warnings

ROOT = Path(__file__).resolve().parents[2]
RECALL = Path(sys.executable).with_name("recall")
SECRETS = {
    "TWILIO_AUTH_TOKEN": "tok-9f8e7d6c5b4a",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgresql://u:hunter2@db/r",
}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL", "RECALL_"))}
    base.pop("SECRET_KEY", None)
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [str(RECALL), *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_an_empty_environment_is_refused_for_production_naming_every_variable():
    done = _run("check-config")
    assert done.returncode == 1, done.stderr
    for variable in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "SECRET_KEY"):
        assert f"refused: {variable}" in done.stdout
    assert "warning: DATABASE_URL is SQLite" in done.stdout
    assert "would not start" in done.stdout


def test_a_complete_environment_would_start_and_no_secret_is_shown():
    done = _run(
        "check-config",
        RECALL_ENV="production",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        PUBLIC_BASE_URL="http://recall.example.com",
        TWILIO_CREDENTIALS_KEY="bm90LWEtcmVhbC1rZXktYnV0LW5vdC1zaG93bi0xMjM0NTY=",
        **SECRETS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "would start" in done.stdout and "database: postgresql://db/r" in done.stdout
    assert "warning: PUBLIC_BASE_URL is plain http" in done.stdout
    assert "TWILIO_CREDENTIALS_KEY is not set" not in done.stdout
    for value in [*SECRETS.values(), "hunter2", "bm90LWEtcmVhbC1rZXk"]:
        assert value not in done.stdout + done.stderr


def test_a_variable_that_cannot_be_read_is_refused_by_name():
    done = _run("check-config", RECALL_ENV="production", WORKER_CONCURRENCY="many")
    assert done.returncode == 1 and "WORKER_CONCURRENCY='many' is not a whole number" in done.stdout


def test_the_warnings_name_what_production_should_change():
    named = {f.variable for f in warnings({"DATABASE_URL": "sqlite:///x.db", "PUBLIC_BASE_URL": "http://a.b"})}
    assert named == {
        "DATABASE_URL", "PUBLIC_BASE_URL", "TWILIO_CREDENTIALS_KEY", "CONSOLE_COOKIE_SECURE", "PROXY_FIX_HOPS",
    }  # fmt: skip
    safe = {"DATABASE_URL": "postgresql://db/r", "PUBLIC_BASE_URL": "https://a.b", "TWILIO_CREDENTIALS_KEY": "k",
            "CONSOLE_COOKIE_SECURE": True, "PROXY_FIX_HOPS": 1}  # fmt: skip
    assert warnings(safe) == []


def test_the_apps_commands_run_by_their_short_names(tmp_path):
    done = _run("migrate", RECALL_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    assert done.returncode == 0 and "latest revision" in done.stdout, done.stderr
