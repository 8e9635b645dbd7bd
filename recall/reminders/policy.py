"""The clinic's reminder policy: saving the manager's document as a new version, and previewing one.

Why it looks like this:

* The manager edits the policy as one JSON document, and every save is a new
  row, version n+1 (``recall.reminders.policy_versions``), checked by
  ``recall.reminders.policy_validation``. A save starts a re-plan of every future
  booking of the clinic, done in short batches (``recall.reminders.replans``).
* Two managers saving at once get distinct versions: the save locks the clinic
  row (``FOR NO KEY UPDATE`` on PostgreSQL, which does not block the inserts of
  bookings that reference the clinic; SQLite writers are serialized anyway), and
  the unique (clinic_id, version) constraint turns any race left into a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.clinic.catalog import referenced
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.errors import Conflict, NotFound, ValidationError
from recall.common.timeutil import at_local, local_day, validate_zone
from recall.reminders import replans
from recall.reminders.planning import (
    Channel,
    PlannedStep,
    plan_steps,
)
from recall.reminders.policy_validation import validate_policy
from recall.reminders.policy_versions import ReminderPolicy, current_policy
from recall.reminders.templates import (
    SegmentInfo,
    check_template,
    render,
    segments,
    validate_template,
    worst_case_segments,
)


def replace_policy(session: Session, clock: Clock, actor: Actor, raw: Any) -> tuple[ReminderPolicy, list[str]]:
    """Save the manager's document as the next version; returns the row and the warnings to show them.

    The version and its re-plan run are committed first, then the request re-plans the first future bookings
    itself (``replans.run_inline``); the worker re-plans the rest, batch by batch."""
    actor.require(Role.MANAGER)
    clinic = session.scalars(
        sa.select(Clinic).where(Clinic.id == actor.clinic_id).with_for_update(key_share=True)
    ).first()
    if clinic is None:
        raise NotFound("clinic", actor.clinic_id)
    doc, warnings = validate_policy(session, clinic, raw)
    latest = (
        session.scalar(sa.select(sa.func.max(ReminderPolicy.version)).where(ReminderPolicy.clinic_id == clinic.id)) or 0
    )
    row = ReminderPolicy(
        clinic_id=clinic.id,
        version=latest + 1,
        body=doc.to_json(),
        created_at=clock.now(),
        created_by_id=actor.staff_id,
    )
    session.add(row)
    try:
        session.flush()
        run = replans.start(session, clinic.id, row.version, clock.now(), actor.staff_id)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("another manager saved the reminder policy at the same moment; reload and retry") from None
    replans.run_inline(session, run, clock.now())
    return row, warnings


@dataclass(frozen=True)
class Preview:
    version: int | None  # None: a posted, unsaved policy
    channel: str
    language: str
    text: str
    segments: SegmentInfo | None  # SMS only
    worst_case: SegmentInfo | None
    warnings: list[str]
    start_at: datetime
    timezone: str
    plan: list[PlannedStep]


SAMPLE_PROVIDER = "Dr. Maria Nowak"


def preview(
    session: Session,
    clinic: Clinic,
    now: datetime,
    *,
    policy: Any = None,
    template: str | None = None,
    language: str = "en",
    channel: str = "sms",
    start_at: datetime | None = None,
    timezone: str | None = None,
    service_id: int | None = None,
    provider_id: int | None = None,
    confirmed: bool = False,
    surge: bool = False,
) -> Preview:
    """What a patient would get, before the manager saves: the text for a sample visit, its SMS cost, the plan.

    Writes nothing. A posted ``policy`` is validated like a save (problems named under ``policy.``).
    """
    version: int | None = None
    if policy is None:
        version, doc = current_policy(session, clinic.id)
        warnings: list[str] = []
    else:
        try:
            doc, warnings = validate_policy(session, clinic, policy)
        except ValidationError as exc:
            raise ValidationError(
                exc.message, fields={"policy" if k == "body" else f"policy.{k}": v for k, v in exc.fields.items()}
            ) from None
    zone_name = validate_zone(timezone, field="timezone") if timezone is not None else clinic.timezone
    provider, _ = referenced(session, clinic.id, provider_id, service_id)
    start = start_at or at_local(local_day(now, zone_name) + timedelta(days=3), 10 * 60, zone_name)
    text = validate_template(
        template if template is not None else doc.template(channel, language),
        allow_provider=doc.show_provider,
        field="template",
    )
    sms = channel == Channel.SMS.value
    if sms:
        warnings = warnings + [
            f"template: {w}"
            for w in check_template(
                text, language=Language(language), allow_provider=doc.show_provider, field="template"
            )
        ]
    rendered = render(
        text,
        language=Language(language),
        clinic_name=clinic.name,
        start_at=start,
        zone=zone_name,
        provider_name=provider.name if provider else SAMPLE_PROVIDER,
        allow_provider=doc.show_provider,
    )
    plan = plan_steps(
        doc,
        start_at=start,
        now=now,
        zone=zone_name,
        service_id=service_id,
        provider_id=provider_id,
        confirmed=confirmed,
        surge=surge,
    )
    return Preview(
        version,
        channel,
        language,
        rendered,
        segments(rendered) if sms else None,
        worst_case_segments(text, language=Language(language)) if sms else None,
        warnings,
        start,
        zone_name,
        plan,
    )
