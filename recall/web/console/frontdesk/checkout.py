"""Checkout at the front desk: the follow-up the patient leaves with. Exactly POST /api/v1/visits/{id}/checkout:
not needed; booked now (an in-person booking, the desk's credit); declined or undecided (a recall task for the
operators, due at the recommended date)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask_babel import gettext as _

from recall.clinic.catalog import get_service, list_providers, list_services
from recall.common.errors import Conflict, ValidationError
from recall.common.timeutil import zone
from recall.visits import visits
from recall.visits.schedule import visit_row
from recall.visits.visit import FollowUp, get_visit
from recall.visits.visits import CheckoutRequest, DeskBooking
from recall.web.common import clock, session
from recall.web.console.frontdesk import blp
from recall.web.console.frontdesk.forms import day_of, failed, ident, local_instant, text, values
from recall.web.console.frontdesk.views import DESK
from recall.web.console.pages import clinic, console_actor, page, render

FIELDS = ("follow_up", "follow_up_date", "booking_provider", "booking_service", "booking_date", "booking_time", "note")
# The domain's names for the booking's fields, as the checkout request nests them, and this form's names.
RENAME = {
    "booking": "booking_date",
    "booking.start_at": "booking_date",
    "booking.end_at": "booking_date",
    "booking.provider_id": "booking_provider",
    "booking.service_id": "booking_service",
    "booking.note": "note",
}


def _defaults(visit_id: int) -> dict[str, Any]:
    """The form as it opens: the follow-up with the visit's provider and service, on the day the service
    recommends, at the time of day the patient came today."""
    visit = get_visit(session(), clinic().id, visit_id)
    service = get_service(session(), clinic().id, visit.service_id) if visit.service_id else None
    recommended = visits.default_follow_up_date(visit, service, clinic())
    arrived = visit.checked_in_at.astimezone(zone(clinic().timezone))
    arrived -= timedelta(minutes=arrived.minute % 15)
    return {
        "follow_up": "",
        "follow_up_date": recommended.isoformat() if recommended else "",
        "booking_provider": visit.provider_id or "",
        "booking_service": visit.service_id or "",
        "booking_date": recommended.isoformat() if recommended else "",
        "booking_time": arrived.strftime("%H:%M"),
        "note": "",
    }


def _form(visit_id: int, chosen: dict[str, Any], errors: dict[str, list[str]], status: int) -> Any:
    visit = get_visit(session(), clinic().id, visit_id)
    return render(
        "frontdesk/checkout.html",
        status=status,
        row=visit_row(session(), visit),
        providers=list(session().scalars(list_providers(clinic().id, active=True))),
        services=list(session().scalars(list_services(clinic().id, active=True))),
        choices=list(FollowUp),
        chosen=chosen,
        errors=errors,
    )


@blp.get("/visits/<int:visit_id>/checkout")
@page(*DESK)
def checkout_form(visit_id: int) -> Any:
    return _form(visit_id, _defaults(visit_id), {}, 200)


def _request() -> CheckoutRequest:
    form = request.form
    raw = (form.get("follow_up") or "").strip()
    try:
        follow_up = FollowUp(raw)
    except ValueError:
        raise ValidationError(_("is required: choose one"), field="follow_up") from None
    booking = None
    if follow_up is FollowUp.BOOKED:
        booking = DeskBooking(
            start_at=local_instant(form, "booking_date", "booking_time", clinic().timezone),
            provider_id=ident(form, "booking_provider"),
            service_id=ident(form, "booking_service"),
        )
    return CheckoutRequest(
        follow_up=follow_up,
        follow_up_date=day_of(form.get("follow_up_date"), "follow_up_date"),
        booking=booking,
        note=text(form, "note"),
    )


@blp.post("/visits/<int:visit_id>/checkout")
@page(*DESK)
def checkout(visit_id: int) -> Any:
    get_visit(session(), clinic().id, visit_id)  # another clinic's visit: 404 before reading the form
    try:
        result = visits.checkout(session(), clock(), console_actor(), visit_id, _request())
    except (ValidationError, Conflict) as error:
        errors, status = failed(error, FIELDS, RENAME)
        return _form(visit_id, values(request.form), errors, status)
    return render(
        "frontdesk/checked_out.html",
        row=visit_row(session(), result.visit),
        booking=result.booking,
        task=result.recall_task,
        replayed=result.replayed,
        providers={p.id: p for p in session().scalars(list_providers(clinic().id))},
        services={s.id: s for s in session().scalars(list_services(clinic().id))},
    )
