"""Processes for the dispatch tests that stop, pause and kill workers: the Twilio stand-in in a process of its
own (so its arrival times are not bent by the test's own threads), worker processes, and a clinic with due SMS.

Every process is started with a deadline of its own or is stopped in the test's ``finally``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from urllib.request import Request, urlopen

import sqlalchemy as sa

from recall.clinic.patients import Language, Patient
from recall.common.actors import Role
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.reminders.planning import Channel as Via
from recall.reminders.planning import Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.bookings import Booking, BookingStatus, Channel, Source
from tests.factories import actor_of, make_clinic, make_service, make_staff

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, TOKEN = "AC" + "0" * 32, "process-test-auth-token"  # production refuses the stand-in's published default
# The workers run on the real clock: calling hours must not depend on when the tests run.
ALL_DAY = {"weekday_start": "00:00", "weekday_end": "24:00", "weekend_start": "00:00", "weekend_end": "24:00"}
CALLBACK_BASE = "https://clinic.example.com"
SENDER = "+46700000000"
FAILED_UNEXPECTEDLY = re.compile(r"^sending reminder (\d+) failed unexpectedly$", re.MULTILINE)


def load_due_reminders(
    database: Database, n: int, rate: float | None, *, visit_in: timedelta = timedelta(days=1), phone_base: int = 0
) -> int:
    """A clinic sending SMS at ``rate`` and ``n`` due SMS reminders, one per booking and patient; returns the
    clinic's id. Due a minute ago (oldest first by a millisecond each), for a visit ``visit_in`` from now."""
    clock = SystemClock()
    now = clock.now()
    clinic = make_clinic(database, clock)
    manager, _ = make_staff(database, clock, clinic.id, Role.MANAGER, name="Manager")
    service = make_service(database, clock, clinic.id)
    with database.writer() as s:
        policy, _ = replace_policy(
            s,
            clock,
            actor_of(manager),
            {
                "steps": [{"offset_minutes": 24 * 60, "channel": "sms"}],
                "rate_limits": {"sms_per_second": rate},
                "hours": ALL_DAY,
            },
        )
    with database.writer() as s:
        patients = list(
            s.scalars(
                sa.insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
                [
                    {
                        "clinic_id": clinic.id,
                        "full_name": f"Crash patient {i}",
                        "phone_e164": f"+4670{phone_base + i:07d}",
                        "language": Language.SV,
                        "timezone": None,
                        "date_of_birth": None,
                        "external_ref": None,
                        "consent_sms": True,
                        "consent_voice": True,
                        "consent_call": True,
                        "opted_out": False,
                        "opted_out_at": None,
                        "phone_invalid": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(n)
                ],
            )
        )
        start = now + visit_in
        bookings = list(
            s.scalars(
                sa.insert(Booking).returning(Booking.id, sort_by_parameter_order=True),
                [
                    {
                        "clinic_id": clinic.id,
                        "patient_id": patient,
                        "provider_id": None,
                        "service_id": service.id,
                        "start_at": start,
                        "end_at": start + timedelta(minutes=30),
                        "status": BookingStatus.BOOKED,
                        "channel": Channel.PHONE,
                        "source": Source.NEW_REQUEST,
                        "source_visit_id": None,
                        "recall_task_id": None,
                        "follow_up_of_visit_id": None,
                        "created_by_id": None,
                        "credited_staff_id": None,
                        "credited_role": None,
                        "note": None,
                        "cancel_reason": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for patient in patients
                ],
            )
        )
        s.execute(
            sa.insert(Reminder),
            [
                {
                    "clinic_id": clinic.id,
                    "booking_id": booking,
                    "patient_id": patient,
                    "policy_version": policy.version,
                    "step_index": 0,
                    "offset_minutes": 24 * 60,
                    "channel": Via.SMS,
                    "fallback": Fallback.NONE,
                    "fallback_of_id": None,
                    "status": ReminderStatus.PLANNED,
                    "send_at": now - timedelta(minutes=1),
                    "due_at": now - timedelta(minutes=1, milliseconds=i),
                    "attempts": 0,
                    "lease_expires_at": None,
                    "claimed_by": None,
                    "provider_sid": None,
                    "provider_status": None,
                    "error_code": None,
                    "outcome": None,
                    "task_id": None,
                    "created_at": now,
                    "updated_at": now,
                    "sent_at": None,
                }
                for i, (booking, patient) in enumerate(zip(bookings, patients, strict=True))
            ],
        )
        s.commit()
    return clinic.id


@dataclass
class StandInProcess:
    """``python -m integrations.twilio`` in its own process, driven over its control API."""

    proc: subprocess.Popen[bytes]
    log: Path
    base_url: str = ""

    @classmethod
    def start(cls, log: Path, latency_ms: int = 30) -> StandInProcess:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "integrations.twilio",
                    "--port",
                    "0",
                    "--auth-token",
                    TOKEN,
                    "--account-sid",
                    ACCOUNT,
                    "--latency-ms",
                    str(latency_ms),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        standin = cls(proc, log)
        deadline = time.monotonic() + 30
        while not standin.base_url:
            found = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", log.read_bytes())
            if found:
                standin.base_url = found.group(1).decode()
            elif proc.poll() is not None or time.monotonic() > deadline:
                standin.stop()
                raise AssertionError(f"the stand-in did not start:\n{log.read_text(errors='replace')}")
            else:
                time.sleep(0.05)
        return standin

    def _control(self, method: str, name: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        with urlopen(Request(f"{self.base_url}/_standin/{name}", data=data, method=method), timeout=30) as answer:
            return json.loads(answer.read())

    def requests(self) -> list[dict[str, Any]]:
        """Every API request the stand-in received, oldest first (``at``: its arrival, wall-clock seconds)."""
        return list(self._control("GET", "requests"))

    def created(self) -> list[dict[str, Any]]:
        """The message creates it received (POST .../Messages.json), in arrival order."""
        return [r for r in self.requests() if r["method"] == "POST" and r["path"].endswith("/Messages.json")]

    def add_fault(self, **spec: Any) -> None:
        self._control("POST", "faults", spec)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def worker_env(db_url: str, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "RECALL_ENV": "production",
        "DATABASE_URL": db_url,
        "TWILIO_BASE_URL": base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_DEFAULT_FROM": SENDER,
        "PUBLIC_BASE_URL": CALLBACK_BASE,
        "SECRET_KEY": "k" * 32,
    }


@dataclass
class Worker:
    """A worker process: ``flask --app wsgi recall worker`` or the ``_sender`` script; output to a file."""

    proc: subprocess.Popen[bytes]
    log: Path
    out: IO[bytes]
    stopped: bool = field(default=False)

    @classmethod
    def start(cls, env: dict[str, str], log: Path, command: list[str] | None = None) -> Worker:
        out = log.open("wb")
        proc = subprocess.Popen(
            command or [sys.executable, "-m", "flask", "--app", "wsgi", "recall", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return cls(proc, log, out)

    @property
    def worker_id(self) -> str:  # as recall.worker.build_dispatcher (and _sender) names it
        return f"{socket.gethostname()}:{self.proc.pid}"[:64]

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.out.close()

    def stop(self) -> None:
        if self.stopped:
            self.resume()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.out.close()

    def errored(self) -> set[int]:
        """Reminders whose send raised in this worker (each is logged with its id)."""
        return {int(m) for m in FAILED_UNEXPECTEDLY.findall(self.log.read_text(errors="replace"))}

    def tail(self) -> str:
        text = self.log.read_text(errors="replace")
        return f"--- {self.log.name} (exit {self.proc.returncode}) ---\n{text[-3000:]}"


def wait_until(condition: Callable[[], bool], seconds: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {seconds} s waiting for {what}\n" + "\n".join(w.tail() for w in workers)
            )
        time.sleep(0.05)


def count(database: Database, *where: sa.ColumnElement[bool]) -> int:
    with database.reader() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Reminder).where(*where)) or 0


def busiest_second(times: list[float]) -> int:
    """The most arrivals in any window of one second [t, t + 1)."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best
