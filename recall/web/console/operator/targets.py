"""Targets on the console's pages: the operator's own beside their earnings, everyone's on the manager's
dashboard (the template: operator/_targets.html)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.queue import target_progress
from recall.queue.targets import KPIS

SHARES = frozenset(name for name, kpi in KPIS.items() if kpi.share)


def targets_context(session: Session, clinic: Clinic, now: datetime, staff_id: int | None) -> dict[str, Any]:
    """What operator/_targets.html shows: ``staff_id``'s targets and the team's, or (None) everyone's."""
    return {
        "target_progress": target_progress.progress(session, clinic, now, staff_id=staff_id),
        "target_shares": SHARES,
        "show_who": staff_id is None,
        "targets_heading": _("My targets this month") if staff_id is not None else _("Who is on track this month"),
    }
