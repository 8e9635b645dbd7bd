"""The Flask CLI: migrate, create a clinic and staff with tokens, load the demo, and serve it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from recall.common.db import Database
from recall.web import create_app


@pytest.fixture
def fresh_app(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    yield create_app("test", database=database)
    database.dispose()


def test_a_clinic_and_its_manager_made_on_the_command_line_can_use_the_api(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["recall", "migrate"]).exit_code == 0
    made = runner.invoke(
        args=[
            "recall",
            "create-clinic",
            "--name",
            "Przychodnia Zdrowie",
            "--timezone",
            "Europe/Warsaw",
            "--region",
            "PL",
            "--currency",
            "PLN",
        ]
    )
    assert made.exit_code == 0, made.output
    clinic_id = int(re.search(r"clinic (\d+)", made.output).group(1))
    staff = runner.invoke(
        args=["recall", "create-staff", "--clinic", str(clinic_id), "--name", "Ewa", "--role", "manager"]
    )
    assert staff.exit_code == 0, staff.output
    token = re.search(r"token: (\S+)", staff.output).group(1)
    response = fresh_app.test_client().get("/api/v1/clinic", headers={"Authorization": f"Bearer {token}"})
    assert response.json["timezone"] == "Europe/Warsaw" and response.json["currency"] == "PLN"


def test_a_bad_zone_on_the_command_line_is_refused_and_writes_nothing(fresh_app):
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["recall", "migrate"])
    result = runner.invoke(args=["recall", "create-clinic", "--name", "X", "--timezone", "Mars/Base", "--region", "PL"])
    assert result.exit_code != 0
    with fresh_app.extensions["recall.db"].reader() as s:
        from recall.clinic.clinics import Clinic

        assert s.query(Clinic).count() == 0


def test_the_demo_has_patients_in_five_languages_with_e164_phones(fresh_app):
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["recall", "migrate"])
    result = runner.invoke(args=["recall", "load-demo"])
    assert result.exit_code == 0, result.output
    token = re.search(r"manager\s+.+?\s(rcl_\S+)", result.output).group(1)
    client = fresh_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    patients = client.get("/api/v1/patients?page_size=200", headers=headers).json["items"]
    assert {p["language"] for p in patients} == {"en", "pl", "ru", "sv", "zh"}
    assert all(re.fullmatch(r"\+[1-9]\d{6,14}", p["phone"]) for p in patients)
    assert client.get("/api/v1/recall-tasks?status=open", headers=headers).json["total"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_loads_the_demo_and_answers_with_the_tokens_it_prints(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}", "RECALL_ENV": "development"}
    flask = Path(sys.executable).with_name("flask")
    proc = subprocess.Popen(
        [str(flask), "--app", "wsgi", "recall", "serve", "--port", str(port)],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "listening" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        token = re.search(r"operator\s+.+?\s(rcl_\S+)", output).group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        earnings = requests.get(f"{base}/api/v1/earnings/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert earnings.status_code == 200 and earnings.json()["currency"] == "SEK"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# --- a worker that cannot be called back does not start ----------------------------------------------------------

NOT_ABSOLUTE = ["", "clinic.example.com", "/webhooks", "ftp://clinic.example.com", "https://"]
DEAD_TWILIO = "http://127.0.0.1:9"  # the discard port: were a send to start, it would go nowhere


def _test_env(tmp_path, **extra: str) -> dict[str, str]:
    """The test settings in a subprocess, without a public URL unless given, Twilio pointed nowhere."""
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "TWILIO_BASE_URL")}
    return {
        **env,
        "RECALL_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TWILIO_BASE_URL": DEAD_TWILIO,
        **extra,
    }


def _cli_app(tmp_path, env: str, **overrides: str):
    """An app whose CLI commands (the worker's own engine included) use one migrated SQLite file."""
    app = create_app(
        env, {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "TWILIO_BASE_URL": DEAD_TWILIO, **overrides}
    )
    assert app.test_cli_runner().invoke(args=["recall", "migrate"]).exit_code == 0
    return app


@pytest.mark.parametrize("public_url", NOT_ABSOLUTE)
def test_a_worker_without_an_absolute_public_url_outside_development_refuses_naming_the_variable(tmp_path, public_url):
    app = _cli_app(tmp_path, "test", PUBLIC_BASE_URL=public_url)
    result = app.test_cli_runner().invoke(args=["recall", "worker", "--once"])
    assert result.exit_code == 1 and "dispatched" not in result.output, result.output
    assert "PUBLIC_BASE_URL" in result.output and "absolute" in result.output
    app.extensions["recall.db"].dispose()


@pytest.mark.parametrize("command", [["worker"], ["serve", "--no-demo", "--no-standin", "--port", "0"]])
def test_the_worker_and_serve_processes_refuse_to_start_without_a_public_url_outside_development(tmp_path, command):
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "recall", *command],
        cwd=Path(__file__).parents[2],
        env=_test_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PUBLIC_BASE_URL is not set" in proc.stderr and "listening" not in proc.stdout


def test_a_worker_with_an_absolute_public_url_starts(tmp_path):
    app = _cli_app(tmp_path, "test", PUBLIC_BASE_URL="https://recall.clinic.example")
    result = app.test_cli_runner().invoke(args=["recall", "worker", "--once"])
    assert result.exit_code == 0 and "dispatched: {}" in result.output, result.output
    app.extensions["recall.db"].dispose()


def test_a_development_worker_without_a_public_url_still_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = _cli_app(tmp_path, "development")
    result = app.test_cli_runner().invoke(args=["recall", "worker", "--once"])
    assert result.exit_code == 0 and "dispatched: {}" in result.output, result.output
    app.extensions["recall.db"].dispose()


def test_the_worker_is_told_its_callback_address_without_it_being_written_into_the_apps_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = _cli_app(tmp_path, "development")
    result = app.test_cli_runner().invoke(args=["recall", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert (app.config["PUBLIC_BASE_URL"], app.config["TWILIO_BASE_URL"]) == ("", DEAD_TWILIO)
    app.extensions["recall.db"].dispose()
