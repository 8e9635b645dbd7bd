"""What a recall task is worth to the operator who books it, once the patient attends: the clinic's plan
amount for the task's service, times the recall multiplier for win-back work (a service call about a
booking the patient already has earns the base amount), exactly as the ledger will price the booking."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from recall.common.actors import Role
from recall.credit.payplan import load_terms
from recall.queue.tasks import SERVICE_REASONS, RecallTask


@dataclass(frozen=True)
class Worth:
    cents: int
    multiplier: Decimal | None  # the recall multiplier applied; None on a service call


def task_worth(session: Session, task: RecallTask) -> Worth:
    """What booking ``task`` (with its suggested service) earns an operator when the visit is attended."""
    terms = load_terms(session, task.clinic_id)
    win_back = task.reason not in SERVICE_REASONS
    return Worth(
        cents=terms.amount(Role.OPERATOR, task.service_id, win_back),
        multiplier=terms.recall_multiplier if win_back else None,
    )
