"""``flask --app wsgi recall serve`` as a real process: the one-command demo's worker and stand-in.

* SIGTERM (a deploy, ``docker stop``) stops its in-process worker as it stops ``recall worker``: the sends in
  flight finish and are recorded ``sent``, the reminders claimed ahead go back to the queue, the process exits 0.
* In development it makes this run's Twilio auth token and hands it to the stand-in it starts: the stand-in's
  signed callbacks are accepted, a webhook signed with the token published in this repository is not.

The reminders come from ``test_dispatch_crash`` (one clinic, SMS due now); every wait has a deadline and the
server is killed in ``finally``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import requests
import sqlalchemy as sa

from integrations.twilio.standin import StandIn
from integrations.twilio.standin_webhooks import post_webhook
from recall.common.db import Database
from recall.migrate import upgrade
from recall.reminders.reminders import Reminder, ReminderStatus
from tests.integration._processes import load_due_reminders
from tests.integration.test_dispatch_crash import RATE, _count, _reminder_of, _scalar

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")
ACCOUNT, TOKEN = "AC" + "5" * 32, "serve-test-auth-token"
PUBLISHED = "standin-auth-token"  # the stand-in's default token, readable by anyone in this repository
LATENCY_MS = 400  # each send is in flight this long: a SIGTERM always finds some on the wire
DEADLINE = 60  # seconds for any one thing the server should do


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(**settings: str) -> dict[str, str]:
    """Development as the README starts it (no Twilio variables of the caller's), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL", "RECALL_"))}
    return {**env, "RECALL_ENV": "development", **settings}


@dataclass
class Served:
    """One ``serve`` process; its output goes to a file, shown when the test fails."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    out: IO[bytes]

    @classmethod
    def start(cls, env: dict[str, str], log: Path, *options: str) -> Served:
        port, out = _free_port(), log.open("wb")
        proc = subprocess.Popen(
            [str(FLASK), "--app", "wsgi", "recall", "serve", "--port", str(port), "--no-demo", *options],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        served = cls(proc, port, log, out)
        served.wait_until(lambda: "recall listening" in served.text(), "the server to listen")
        return served

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        return f"--- serve (exit {self.proc.returncode}) ---\n{self.text()[-3000:]}"

    def wait_until(self, condition, what: str, seconds: float = DEADLINE) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}\n{self.tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.out.close()


@pytest.fixture
def slow_twilio(standin: StandIn) -> StandIn:
    """The shared stand-in (tests/conftest.py, serving ACCOUNT), slow after it records a request and before it
    answers: in flight, as the stand-in's log shows it."""
    standin.add_fault(slow_ms=LATENCY_MS, resource="Messages", times=None)
    return standin


def _creates(standin: StandIn) -> list:
    return [r for r in standin.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


@pytest.mark.timeout(180)
def test_serve_told_to_stop_finishes_its_sends_records_them_and_gives_back_what_it_claimed(
    database: Database, db_url: str, slow_twilio: StandIn, tmp_path: Path
) -> None:
    n = 300
    load_due_reminders(database, n, RATE)
    env = _environment(
        DATABASE_URL=db_url, TWILIO_BASE_URL=slow_twilio.base_url, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN
    )
    served = Served.start(env, tmp_path / "serve.log")
    try:
        # Some sent already, and some on the wire right now: the stand-in has them and has not answered.
        served.wait_until(
            lambda: (
                _scalar(database, _count(Reminder.status == ReminderStatus.SENT)) >= 8
                and any(r.status is None for r in _creates(slow_twilio))
            ),
            "sends in flight",
        )
        served.proc.send_signal(signal.SIGTERM)
        in_flight = {_reminder_of(r) for r in _creates(slow_twilio) if r.status is None}
        assert served.proc.wait(30) == 0, served.tail()
    finally:
        served.kill()

    with database.reader() as s:
        rows = s.execute(sa.select(Reminder.id, Reminder.status, Reminder.attempts, Reminder.claimed_by)).all()
    statuses = Counter(row.status for row in rows)
    creates = _creates(slow_twilio)
    print(f"\n{len(in_flight)} in flight at SIGTERM; {statuses}; {len(creates)} requests at the stand-in")
    assert in_flight, "nothing was in flight: the run proved nothing"
    assert statuses[ReminderStatus.SENDING] == 0, "a claimed reminder was left sending"
    assert set(statuses) == {ReminderStatus.SENT, ReminderStatus.PLANNED}, statuses
    assert {row.id: row.status for row in rows if row.id in in_flight} == dict.fromkeys(in_flight, ReminderStatus.SENT)
    assert all(r.status == 201 for r in creates), "every request was answered before the process left"
    assert statuses[ReminderStatus.SENT] == len(creates) < n, "stopped early, and every request is recorded"
    assert {(row.attempts, row.claimed_by) for row in rows if row.status is ReminderStatus.PLANNED} == {(0, None)}
    assert "recall stopped" in served.text()


@pytest.mark.timeout(120)
def test_serve_in_development_signs_with_this_runs_token_and_refuses_the_published_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    database = Database(url)
    try:
        upgrade(database.engine)
        load_due_reminders(database, 3, RATE)
        # Zero Twilio variables, as the README's first command: the in-process stand-in, delivering what it takes.
        served = Served.start(_environment(DATABASE_URL=url), tmp_path / "serve.log")
        try:
            served.wait_until(
                lambda: _scalar(database, _count(Reminder.status == ReminderStatus.DELIVERED)) == 3,
                "the stand-in's signed delivery receipts to be accepted",
            )
            with database.reader() as s:
                reminder = s.scalars(sa.select(Reminder)).first()
            forged = post_webhook(
                f"{served.base}/webhooks/twilio/message-status?r={reminder.id}",
                [
                    ("MessageSid", reminder.provider_sid),
                    ("MessageStatus", "undelivered"),
                    ("ErrorCode", "30003"),
                    ("AccountSid", "AC" + "0" * 32),
                ],
                auth_token=PUBLISHED,
            )
            assert forged.status == 403
            assert requests.get(f"{served.base}/readyz", timeout=5).status_code == 200
        finally:
            served.kill()
        with database.reader() as s:
            assert set(s.scalars(sa.select(Reminder.status))) == {ReminderStatus.DELIVERED}
    finally:
        database.dispose()
