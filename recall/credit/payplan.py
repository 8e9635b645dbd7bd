"""The clinic's pay plan: what one realized booking is worth, per role and service.

Pay is for the result (a booking the patient attended), never for the number of
calls, and has no ceiling. Bookings won from the recall queue are worth the
recall multiplier times more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from recall.clinic.catalog import Service
from recall.common.actors import Actor, Role
from recall.common.clock import Clock
from recall.common.db import Base, UTCDateTime, enum_column_type
from recall.common.errors import NotFound, ValidationError

EARNING_ROLES = (Role.FRONTDESK, Role.OPERATOR)
DEFAULT_BASE_CENTS = 1000
DEFAULT_MULTIPLIER = Decimal("1.5")
MAX_MULTIPLIER = Decimal("100")
# At most 100,000.00 per booking before the multiplier, so that x100 still fits a 32-bit amount.
MAX_CENTS = 10_000_000


class PayPlan(Base):
    __tablename__ = "pay_plans"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    frontdesk_base_cents: Mapped[int] = mapped_column()
    operator_base_cents: Mapped[int] = mapped_column()
    # Thousandths, so the multiplier is exact on every database (1500 = 1.5x).
    recall_multiplier_milli: Mapped[int] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("frontdesk_base_cents >= 0 AND operator_base_cents >= 0", name="bases_non_negative"),
        sa.CheckConstraint("recall_multiplier_milli >= 1000", name="multiplier_at_least_one"),
    )

    @classmethod
    def default_for(cls, clinic_id: int, now: datetime) -> PayPlan:
        return cls(
            clinic_id=clinic_id,
            frontdesk_base_cents=DEFAULT_BASE_CENTS,
            operator_base_cents=DEFAULT_BASE_CENTS,
            recall_multiplier_milli=int(DEFAULT_MULTIPLIER * 1000),
            version=1,
            updated_at=now,
        )


class ServiceRate(Base):
    """A per-service amount that replaces the role's base amount."""

    __tablename__ = "pay_plan_service_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, "service_rate_role"))
    amount_cents: Mapped[int] = mapped_column()

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "service_id", "role", name="uq_service_rates_clinic_service_role"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
    )


@dataclass(frozen=True)
class PlanTerms:
    """A pay plan as values: the current one, or a proposal for a what-if."""

    frontdesk_base_cents: int
    operator_base_cents: int
    recall_multiplier: Decimal
    service_rates: dict[tuple[int, Role], int] = field(default_factory=dict)
    version: int | None = None

    def __post_init__(self) -> None:
        for name in ("frontdesk_base_cents", "operator_base_cents"):
            if not 0 <= getattr(self, name) <= MAX_CENTS:
                raise ValidationError(f"must be between 0 and {MAX_CENTS}", field=name)
        if not Decimal(1) <= self.recall_multiplier <= MAX_MULTIPLIER:
            raise ValidationError("must be between 1 and 100", field="recall_multiplier")
        if self.recall_multiplier != self.recall_multiplier.quantize(Decimal("0.001")):
            raise ValidationError("must have at most three decimals", field="recall_multiplier")
        for (_, role), cents in self.service_rates.items():
            if role not in EARNING_ROLES:
                raise ValidationError("must be frontdesk or operator", field="service_rates.role")
            if not 0 <= cents <= MAX_CENTS:
                raise ValidationError(f"must be between 0 and {MAX_CENTS}", field="service_rates.amount_cents")

    def base(self, role: Role) -> int:
        return self.frontdesk_base_cents if role is Role.FRONTDESK else self.operator_base_cents

    def amount(self, role: Role, service_id: int | None, is_recall: bool) -> int:
        """What one realized booking is worth, in minor units."""
        cents = self.service_rates.get((service_id, role), self.base(role)) if service_id else self.base(role)
        if is_recall:
            return int((Decimal(cents) * self.recall_multiplier).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return cents


def load_terms(session: Session, clinic_id: int) -> PlanTerms:
    plan = session.get(PayPlan, clinic_id)
    if plan is None:
        raise NotFound("pay plan of clinic", clinic_id)
    rates = session.execute(
        sa.select(ServiceRate.service_id, ServiceRate.role, ServiceRate.amount_cents).where(
            ServiceRate.clinic_id == clinic_id
        )
    )
    return PlanTerms(
        frontdesk_base_cents=plan.frontdesk_base_cents,
        operator_base_cents=plan.operator_base_cents,
        recall_multiplier=Decimal(plan.recall_multiplier_milli) / 1000,
        service_rates={(r.service_id, r.role): r.amount_cents for r in rates},
        version=plan.version,
    )


# The plan's terms and the one service's rate, built once: every booking that earns credit runs it.
_RATE = (
    sa.select(ServiceRate.amount_cents)
    .where(
        ServiceRate.clinic_id == sa.bindparam("clinic"),
        ServiceRate.service_id == sa.bindparam("service"),
        ServiceRate.role == sa.bindparam("role"),
    )
    .scalar_subquery()
)
_TERMS = sa.select(
    PayPlan.frontdesk_base_cents, PayPlan.operator_base_cents, PayPlan.recall_multiplier_milli, _RATE
).where(PayPlan.clinic_id == sa.bindparam("clinic"))


def amount_for(session: Session, clinic_id: int, role: Role, service_id: int | None, is_recall: bool) -> int:
    """What one booking is worth under the clinic's current plan, in one query."""
    row = session.execute(_TERMS, {"clinic": clinic_id, "service": service_id, "role": role}).one_or_none()
    if row is None:
        raise NotFound("pay plan of clinic", clinic_id)
    rates = {(service_id, role): row[3]} if row[3] is not None and service_id is not None else {}
    terms = PlanTerms(row[0], row[1], Decimal(row[2]) / 1000, rates)
    return terms.amount(role, service_id, is_recall)


def check_rates(session: Session, clinic_id: int, terms: PlanTerms, prefix: str = "service_rates") -> None:
    """Every per-service amount must name a service of this clinic."""
    known = set(session.scalars(sa.select(Service.id).where(Service.clinic_id == clinic_id)))
    for index, (service_id, _role) in enumerate(terms.service_rates):
        if service_id not in known:
            raise ValidationError(f"no service {service_id} in this clinic", field=f"{prefix}.{index}.service_id")


def replace_plan(session: Session, clock: Clock, actor: Actor, terms: PlanTerms) -> PlanTerms:
    """Adopt a new plan. Entries already in the ledger keep the amounts they were booked at."""
    actor.require(Role.MANAGER, Role.SYSTEM)
    clinic_id = actor.clinic_id
    check_rates(session, clinic_id, terms)
    plan = session.get(PayPlan, clinic_id, with_for_update=True)
    if plan is None:
        plan = PayPlan.default_for(clinic_id, clock.now())
        plan.version = 0
        session.add(plan)
    plan.frontdesk_base_cents = terms.frontdesk_base_cents
    plan.operator_base_cents = terms.operator_base_cents
    plan.recall_multiplier_milli = int(terms.recall_multiplier * 1000)
    plan.version += 1
    plan.updated_at = clock.now()
    session.execute(sa.delete(ServiceRate).where(ServiceRate.clinic_id == clinic_id))
    session.add_all(
        ServiceRate(clinic_id=clinic_id, service_id=sid, role=role, amount_cents=cents)
        for (sid, role), cents in terms.service_rates.items()
    )
    session.commit()
    return load_terms(session, clinic_id)
