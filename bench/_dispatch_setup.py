"""bench_dispatch's setting: the Twilio stand-in in a process of its own, and the clinic and due reminders it
sends, bulk-loaded. Split from the measured loops so each file reads in one sitting."""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import _proc_cpu_seconds

from recall.clinic.catalog import create_service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import Language, Patient
from recall.clinic.staff import create_staff
from recall.common.actors import Actor, Role
from recall.common.clock import SystemClock
from recall.common.db import Database
from recall.reminders.planning import Channel as Via
from recall.reminders.planning import Fallback
from recall.reminders.policy import replace_policy
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.bookings import Booking, BookingStatus, Channel, Source

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT, TOKEN, FROM = "AC" + "0" * 32, "bench-auth-token", "+46700000000"
CALLBACK = "https://clinic.example.com"
BODY = "Påminnelse: Bench Clinic, tid torsdag 5 mars 13:00. Svara STOP för att avregistrera dig."


# --------------------------------------------------------------------------- the stand-in process


class StandInProcess:
    """``python -m integrations.twilio`` on a free loopback port, driven through its ``/_standin/`` API."""

    def __init__(self, latency_ms: int):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.latency_ms = latency_ms
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "integrations.twilio",
                "--port",
                str(port),
                "--auth-token",
                TOKEN,
                "--account-sid",
                ACCOUNT,
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.control("GET", "stats")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the Twilio stand-in did not start") from None
                time.sleep(0.1)

    def control(self, method: str, name: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_standin/{name}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self.control("POST", "reset", {})
        self.control("POST", "latency", {"ms": self.latency_ms})

    def creates(self) -> list[dict[str, Any]]:
        """Every Messages create the stand-in answered since the last reset, oldest first."""
        return [r for r in self.control("GET", "requests") if r["method"] == "POST" and r["resource"] == "Messages"]

    def cpu_seconds(self) -> float:
        return _proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _die_with_parent() -> None:
    """The stand-in never outlives this script, even if it is killed (Linux: PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------- data


def make_clinic(db: Database, rate: float | None) -> tuple[int, int, int]:
    """A clinic whose stored policy sends one SMS a day before the visit at ``rate``/s: clinic, service, version."""
    clock = SystemClock()
    with db.writer() as s:
        clinic = create_clinic(
            s,
            clock,
            ClinicInput(
                name=f"Bench clinic {time.time_ns()}", timezone="Europe/Stockholm", phone_region="SE", currency="SEK"
            ),
        )
        manager = create_staff(s, clock, Actor.system(clinic.id), name="Bench manager", role=Role.MANAGER)
        service = create_service(
            s,
            clock,
            Actor.system(clinic.id),
            {"name": "Check-up", "duration_minutes": 30, "follow_up_interval_days": 30},
        )
        s.commit()
    with db.writer() as s:
        policy, _ = replace_policy(
            s,
            clock,
            Actor(staff_id=manager.id, clinic_id=clinic.id, role=Role.MANAGER),
            {
                "steps": [{"offset_minutes": 24 * 60, "channel": "sms"}],
                "rate_limits": {"sms_per_second": rate},
                # on the real clock: the sends are checked against calling hours, which must not depend on the hour
                "hours": {
                    "weekday_start": "00:00",
                    "weekday_end": "24:00",
                    "weekend_start": "00:00",
                    "weekend_end": "24:00",
                },
            },
        )
    return clinic.id, service.id, policy.version


def load_reminders(db: Database, clinic: tuple[int, int, int], n: int, phone_base: int) -> None:
    """``n`` patients, each with a booking tomorrow and its SMS reminder, due a minute ago (Core inserts)."""
    now, (clinic_id, service_id, version) = datetime.now(UTC), clinic
    with db.writer() as s:
        patients = list(
            s.scalars(
                sa.insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
                [
                    {
                        "clinic_id": clinic_id,
                        "full_name": f"Bench patient {i}",
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
        start = now + timedelta(days=1)
        bookings = list(
            s.scalars(
                sa.insert(Booking).returning(Booking.id, sort_by_parameter_order=True),
                [
                    {
                        "clinic_id": clinic_id,
                        "patient_id": p,
                        "provider_id": None,
                        "service_id": service_id,
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
                    for p in patients
                ],
            )
        )
        s.execute(
            sa.insert(Reminder),
            [
                {
                    "clinic_id": clinic_id,
                    "booking_id": b,
                    "patient_id": p,
                    "policy_version": version,
                    "step_index": 0,
                    "offset_minutes": 24 * 60,
                    "channel": Via.SMS,
                    "fallback": Fallback.NONE,
                    "fallback_of_id": None,
                    "status": ReminderStatus.PLANNED,
                    "send_at": now - timedelta(minutes=1),
                    "due_at": now - timedelta(minutes=1, microseconds=n - i),
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
                for i, (b, p) in enumerate(zip(bookings, patients, strict=True))
            ],
        )
        s.commit()


def cancel_leftovers(db: Database) -> int:
    """A phase stopped by --max-seconds leaves due reminders; the next phase must not send them."""
    with db.writer() as s:
        count = (
            s.execute(
                sa.update(Reminder)
                .where(Reminder.status == ReminderStatus.PLANNED)
                .values(status=ReminderStatus.CANCELLED, outcome="bench_leftover")
            ).rowcount
            or 0
        )
        s.commit()
    return count


def due_planned(db: Database) -> int:
    with db.reader() as s:
        return (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(Reminder)
                .where(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at <= datetime.now(UTC))
            )
            or 0
        )
