"""Opening a clinic: its row with the default settings and its default pay plan, in one transaction.

Apart from ``recall.clinic.clinics``, which every area reads, because the pay plan belongs to the credit area
(``recall.credit.payplan``), which reads clinics and services itself: this use case sits above both.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from recall.clinic.clinics import (
    DEFAULT_BACKOFF_MINUTES,
    DEFAULT_COOLING_OFF_HOURS,
    Clinic,
    ClinicInput,
    validate_currency,
)
from recall.common.clock import Clock
from recall.common.errors import ValidationError
from recall.common.phones import validate_region
from recall.common.timeutil import validate_zone
from recall.credit.payplan import PayPlan


def create_clinic(session: Session, clock: Clock, data: ClinicInput) -> Clinic:
    """A new clinic with the default settings and the default pay plan; commits."""
    if not data.name.strip():
        raise ValidationError("must not be empty", field="name")
    clinic = Clinic(
        name=data.name.strip(),
        timezone=validate_zone(data.timezone),
        phone_region=validate_region(data.phone_region),
        currency=validate_currency(data.currency),
        recall_cooling_off_hours=DEFAULT_COOLING_OFF_HOURS,
        calling_weekday_start=9 * 60,
        calling_weekday_end=20 * 60,
        calling_weekend_start=10 * 60,
        calling_weekend_end=16 * 60,
        recall_lease_minutes=15,
        recall_max_attempts=5,
        recall_backoff_minutes=list(DEFAULT_BACKOFF_MINUTES),
        recall_callback_hold_minutes=60,
        surge_overdue_tasks=1,
        created_at=clock.now(),
    )
    session.add(clinic)
    session.flush()
    session.add(PayPlan.default_for(clinic.id, clock.now()))
    session.commit()
    return clinic
