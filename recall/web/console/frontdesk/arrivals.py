"""Check-in at the front desk: for a booking of the day, or a walk-in. The use case of POST /api/v1/visits."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from recall.clinic.catalog import list_providers, list_services
from recall.clinic.patients import Patient, get_patient
from recall.common.errors import Conflict, NotFound, ValidationError
from recall.visits import visits
from recall.visits.booking import Booking, get_booking
from recall.web.common import clock, session
from recall.web.console.frontdesk import blp
from recall.web.console.frontdesk.forms import failed, ident, values
from recall.web.console.frontdesk.views import DESK
from recall.web.console.pages import clinic, console_actor, page, render

FIELDS = ("patient_id", "booking_id", "provider_id", "service_id")


def _form(
    patient: Patient, booking: Booking | None, chosen: dict[str, Any], errors: dict[str, list[str]], status: int
) -> Any:
    clinic_id = clinic().id
    return render(
        "frontdesk/check_in.html",
        status=status,
        patient=patient,
        booking=booking,
        providers=list(session().scalars(list_providers(clinic_id, active=True))),
        services=list(session().scalars(list_services(clinic_id, active=True))),
        chosen=chosen,
        errors=errors,
    )


def _booking_named(raw: str | None) -> Booking | None:
    try:
        return get_booking(session(), clinic().id, int(raw or ""))
    except (ValueError, NotFound):
        return None


@blp.get("/check-in")
@page(*DESK)
def check_in_form() -> Any:
    """The check-in form for a patient (a walk-in), or for one of their bookings (``booking_id``)."""
    patient_id = ident(request.args, "patient_id", required=True)
    assert patient_id is not None
    patient = get_patient(session(), clinic().id, patient_id)  # another clinic's: 404
    booking = None
    booking_id = ident(request.args, "booking_id")
    chosen: dict[str, Any] = {}
    if booking_id is not None:
        booking = get_booking(session(), clinic().id, booking_id)
        chosen = {"provider_id": booking.provider_id, "service_id": booking.service_id}
    return _form(patient, booking, chosen, {}, 200)


@blp.post("/check-in")
@page(*DESK)
def check_in() -> Any:
    form = request.form
    patient_id = ident(form, "patient_id", required=True)
    assert patient_id is not None
    patient = get_patient(session(), clinic().id, patient_id)
    try:
        booking_id = ident(form, "booking_id")
        visits.check_in(
            session(),
            clock(),
            console_actor(),
            patient_id=patient.id,
            provider_id=ident(form, "provider_id"),
            service_id=ident(form, "service_id"),
            booking_id=booking_id,
        )
    except (ValidationError, Conflict) as error:
        errors, status = failed(error, FIELDS, {"status": "booking_id"})  # the booking cannot be attended
        patient = get_patient(session(), clinic().id, patient_id)
        return _form(patient, _booking_named(form.get("booking_id")), values(form), errors, status)
    return redirect(url_for("frontdesk.today"), code=303)
