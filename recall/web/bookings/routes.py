"""Bookings: make, confirm, move, cancel, and record whether the patient came."""

from __future__ import annotations

from typing import Any

from recall.common.actors import Role
from recall.common.errors import Forbidden
from recall.credit import ledger as credit
from recall.visits import booking as booking_rows
from recall.visits import booking_outcomes, bookings
from recall.visits.bookings import BookingRequest
from recall.web.auth import any_staff, roles
from recall.web.bookings.schemas import (
    BookingCreateSchema,
    BookingListArgs,
    BookingSchema,
    CancelSchema,
    CreditEntrySchema,
    MoveSchema,
)
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint, may_answer

blp = Blueprint("bookings", __name__, description="Bookings and their outcomes")
at_the_clinic = roles(Role.FRONTDESK, Role.MANAGER)


@blp.route("/bookings", methods=["POST"])
@may_answer(403)
@any_staff
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
def create_booking(req: BookingRequest) -> Any:
    return bookings.create_booking(session(), clock(), actor(), req)


@blp.route("/bookings", methods=["GET"])
@any_staff
@blp.arguments(BookingListArgs, location="query")
@blp.response(200, page_schema(BookingSchema))
def list_bookings(args: dict[str, Any]) -> Any:
    stmt = booking_rows.list_bookings(
        actor().clinic_id,
        statuses=args.get("status"),
        start_from=args.get("from_"),
        start_to=args.get("to"),
        patient_id=args.get("patient_id"),
        provider_id=args.get("provider_id"),
        credited_staff_id=args.get("credited_staff_id"),
        channel=args.get("channel"),
    )
    return page_of(stmt, args)


@blp.route("/bookings/<int:booking_id>", methods=["GET"])
@any_staff
@blp.response(200, BookingSchema)
def get_booking(booking_id: int) -> Any:
    return booking_rows.get_booking(session(), actor().clinic_id, booking_id)


@blp.route("/bookings/<int:booking_id>/credit", methods=["GET"])
@may_answer(403)
@any_staff
@blp.response(200, CreditEntrySchema(many=True))
def booking_credit(booking_id: int) -> Any:
    """The ledger entries of one booking: the credited staff member's and managers' to see."""
    booking = booking_rows.get_booking(session(), actor().clinic_id, booking_id)
    if not actor().is_manager and booking.credited_staff_id != actor().staff_id:
        raise Forbidden("only the credited staff member and managers see a booking's credit")
    return credit.entries_for_booking(session(), booking.id)


@blp.route("/bookings/<int:booking_id>/confirm", methods=["POST"])
@any_staff
@blp.response(200, BookingSchema)
def confirm(booking_id: int) -> Any:
    """Confirm a booking: the patient said they will come."""
    return bookings.confirm_booking(session(), clock(), actor(), booking_id)


@blp.route("/bookings/<int:booking_id>/move", methods=["POST"])
@any_staff
@blp.arguments(MoveSchema)
@blp.response(200, BookingSchema)
def move(data: dict[str, Any], booking_id: int) -> Any:
    """Move a booking to another time (and provider)."""
    return bookings.move_booking(
        session(),
        clock(),
        actor(),
        booking_id,
        start_at=data["start_at"],
        end_at=data["end_at"],
        provider_id=data["provider_id"],
    )


@blp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@any_staff
@blp.arguments(CancelSchema)
@blp.response(200, BookingSchema)
def cancel(data: dict[str, Any], booking_id: int) -> Any:
    """Cancel a booking; its pending credit is voided."""
    return booking_outcomes.cancel_booking(session(), clock(), actor(), booking_id, data["reason"])


@blp.route("/bookings/<int:booking_id>/attend", methods=["POST"])
@at_the_clinic
@blp.response(200, BookingSchema)
def attend(booking_id: int) -> Any:
    """Record that the patient came: the booking's credit is earned."""
    return booking_outcomes.mark_attended(session(), clock(), actor(), booking_id)


@blp.route("/bookings/<int:booking_id>/no-show", methods=["POST"])
@at_the_clinic
@blp.response(200, BookingSchema)
def no_show(booking_id: int) -> Any:
    """Record that the patient did not come: the booking's credit is voided."""
    return booking_outcomes.mark_no_show(session(), clock(), actor(), booking_id)
