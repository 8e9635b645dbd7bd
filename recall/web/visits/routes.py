"""In-person visits: check-in and checkout at the front desk."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.visits import visit, visits
from recall.visits.visits import CheckoutRequest
from recall.web.auth import any_staff, roles
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint
from recall.web.visits.schemas import CheckInSchema, CheckoutResultSchema, CheckoutSchema, VisitListArgs, VisitSchema

blp = Blueprint("visits", __name__, description="In-person visits and the follow-up recorded at checkout")
front_desk = roles(Role.FRONTDESK, Role.MANAGER)


@blp.route("/visits", methods=["POST"])
@front_desk
@blp.arguments(CheckInSchema)
@blp.response(201, VisitSchema)
def check_in(data: dict[str, Any]) -> Any:
    return visits.check_in(session(), clock(), actor(), **data)


@blp.route("/visits", methods=["GET"])
@any_staff
@blp.arguments(VisitListArgs, location="query")
@blp.response(200, page_schema(VisitSchema))
def list_visits(args: dict[str, Any]) -> Any:
    return page_of(
        visit.list_visits(
            actor().clinic_id,
            status=args.get("status"),
            from_=args.get("from_"),
            to=args.get("to"),
            patient_id=args.get("patient_id"),
        ),
        args,
    )


@blp.route("/visits/<int:visit_id>", methods=["GET"])
@any_staff
@blp.response(200, VisitSchema)
def get_visit(visit_id: int) -> Any:
    return visit.get_visit(session(), actor().clinic_id, visit_id)


@blp.route("/visits/<int:visit_id>/checkout", methods=["POST"])
@front_desk
@blp.arguments(CheckoutSchema)
@blp.response(200, CheckoutResultSchema)
def checkout(req: CheckoutRequest, visit_id: int) -> Any:
    """Record the follow-up. Sending the same checkout again changes nothing; a different one corrects it."""
    return visits.checkout(session(), clock(), actor(), visit_id, req)
