"""The exports' tables (file name, header, rows), written the same by the API and by the console's downloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.timeutil import local_day, month_range
from recall.credit.payroll import Payroll, month_of, payroll
from recall.queue.worklist import WorkRow, queue_rows

Table = tuple[str, list[str], Iterator[list[Any]]]

PAYROLL_HEADER = [
    "staff_id", "staff_name", "role", "day", "kind", "bookings", "amount", "amount_minor_units", "currency",
]  # fmt: skip
QUEUE_HEADER = [
    "task_id", "status", "reason", "patient_id", "patient_name", "phone", "language", "service", "provider",
    "follow_up_date", "due", "days_overdue", "attempts", "last_attempt", "held_by", "callback_for", "callback_until",
]  # fmt: skip


def payroll_table(session: Session, clinic: Clinic, now: datetime, month: str | None) -> Table:
    """The payroll of ``month`` (YYYY-MM), by default the last complete month in the clinic's zone."""
    if month:
        start, end = month_of(month)
    else:
        this_month, _ = month_range(local_day(now, clinic.timezone))
        start, end = month_range(this_month - timedelta(days=1))
    result = payroll(session, clinic.id, start, end)
    return f"payroll-{start:%Y-%m}.csv", PAYROLL_HEADER, _payroll_rows(result, clinic.currency)


def _payroll_rows(result: Payroll, currency: str) -> Iterator[list[Any]]:
    places = get_currency_precision(currency)

    def money(cents: int) -> str:
        return str((Decimal(cents) / 10**places).quantize(Decimal(1).scaleb(-places)))

    for member in result.staff:
        for line in member.lines:
            yield [member.staff_id, member.name, member.role.value, line.day, line.kind.value, line.bookings,
                   money(line.cents), line.cents, currency]  # fmt: skip
        yield [member.staff_id, member.name, member.role.value, None, "total", member.bookings,
               money(member.cents), member.cents, currency]  # fmt: skip
    yield [None, None, None, None, "total", result.bookings, money(result.cents), result.cents, currency]


def work_table(session: Session, clinic: Clinic, now: datetime, name: str, *, overdue_only: bool) -> Table:
    """The recall queue (or its overdue list) at ``now``, named ``name`` and the clinic's day."""
    rows = queue_rows(session, clinic, now, overdue_only=overdue_only)
    today = local_day(now, clinic.timezone)
    return f"{name}-{today.isoformat()}.csv", QUEUE_HEADER, (_work_row(row) for row in rows)


def _work_row(row: WorkRow) -> list[Any]:
    def when(value: datetime | date | None) -> str | None:
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        return value.isoformat() if value is not None else None

    return [row.task_id, row.status, row.reason, row.patient_id, row.patient_name, row.phone, row.language,
            row.service, row.provider, when(row.follow_up_date), when(row.due_local), row.days_overdue,
            row.attempts, when(row.last_attempt_local), row.held_by, row.callback_for,
            when(row.callback_until_local)]  # fmt: skip
