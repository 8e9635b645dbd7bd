"""The reminder worker (recall.worker) runs from settings, a Database and a clock: no Flask app, no app config.

``recall worker`` and ``serve`` build those from the app's settings (``test_cli.py``, ``test_serve.py``); here the
worker is built without any app, and its settings keep secrets out of what it prints.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import config
from recall.common.clock import FixedClock
from recall.common.db import Database
from recall.worker import WorkerSettings, build_dispatcher, schedule

SETTINGS = WorkerSettings.from_settings(
    config.load("test", {"PUBLIC_BASE_URL": "https://recall.clinic.example", "TWILIO_BASE_URL": "http://127.0.0.1:9"})
)


def test_the_worker_imports_no_flask_and_nothing_of_the_web_package():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, recall.worker; print(sorted({'flask', 'recall.web'} & set(sys.modules)))"],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_a_worker_built_without_an_app_drains_and_ticks_at_its_interval(database: Database, clock: FixedClock):
    dispatcher, gateway = build_dispatcher(SETTINGS, database, clock)
    try:
        assert dispatcher.drain().outcomes == {}
    finally:
        gateway.close()
    scheduler, _ = schedule(dataclasses.replace(SETTINGS, worker_interval_seconds=7.5), database, clock, blocking=False)
    jobs = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
    assert jobs == {"dispatch-reminders": 7.5, "replan-reminders": 7.5, "purge-old-texts": 3600.0}


def test_the_settings_are_read_by_name_and_shown_without_their_secrets():
    loaded = config.load("test", {"TWILIO_CREDENTIALS_KEY": "hunter2-fernet-key"})
    settings = WorkerSettings.from_settings(loaded)
    assert (settings.worker_concurrency, settings.twilio_auth_token) == (32, loaded["TWILIO_AUTH_TOKEN"])
    assert loaded["TWILIO_AUTH_TOKEN"] not in repr(settings) and "hunter2" not in repr(settings)
