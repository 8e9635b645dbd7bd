"""The demo clinic's last three weeks: walk-ins, the operators' calls, bookings kept and missed, today's schedule.

Everything goes through the same use cases as the API, at the time it happened (a FixedClock per step), so the
console's pages, the earnings and the KPIs show what a clinic in its fourth week would.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import Clinic
from recall.clinic.patients import Patient, create_patient
from recall.common.actors import Actor, Role
from recall.common.clock import Clock, FixedClock
from recall.common.errors import RecallError
from recall.queue.attempts import AttemptInput, BookingDetails, Outcome, log_attempt
from recall.queue.claims import claim_next, release_lease
from recall.visits.booking import Channel
from recall.visits.booking_outcomes import mark_no_show
from recall.visits.bookings import BookingRequest, create_booking
from recall.visits.visits import CheckoutRequest, DeskBooking, FollowUp, check_in, checkout

# The last three weeks' patients, for the history the dashboard, the earnings and the KPIs show.
FIRST = ["Ebba", "Oskar", "Wilma", "Elias", "Freja", "Hugo", "Alice", "Filip", "Tove", "Axel", "Saga", "Liam"]
LAST = ["Lund", "Berg", "Sandberg", "Ek", "Holm", "Lindgren", "Dahl", "Sjöberg", "Forsberg", "Engström"]
HISTORY_DAYS = 21


def _at(clinic: Clinic, day: datetime, hour: float) -> datetime:
    """``hour`` o'clock (9.5 is half past nine) of ``day``'s date in the clinic's zone, as an instant."""
    zone = ZoneInfo(clinic.timezone)
    local = datetime.combine(day.astimezone(zone).date(), time(int(hour), int(hour % 1 * 60)), zone)
    return local.astimezone(day.tzinfo)


def history(
    session: Session,
    clock: Clock,
    clinic: Clinic,
    actors: dict[Role, list[Actor]],
    providers: list[Provider],
    services: list[Service],
) -> dict[str, int]:
    """Three weeks of the clinic's work before today, through the same use cases: walk-ins checked out with
    every follow-up choice, operators calling the queue (bookings, no answers, declines, callbacks), and the
    booked patients coming in or not, so that earnings are earned and pending, KPIs have days and the
    schedule has today's patients. A step the rules refuse (a slot taken, a patient outside calling hours) is
    skipped, as the staff would."""
    now = clock.now()
    made = dict.fromkeys(("visits", "attempts", "bookings", "attended", "today"), 0)
    names = itertools.cycle(itertools.product(FIRST, LAST))
    slots = itertools.count()
    booked: list[tuple[datetime, int, int]] = []  # (start, booking id, patient id) not yet due
    free: list[int] = []  # patients with nothing open: today's phone bookings are theirs

    def new_patient(n: int) -> Patient:
        first, last = next(names)
        return create_patient(
            session,
            clock,
            Actor.system(clinic.id),
            {"full_name": f"{first} {last}", "language": "sv", "phone": f"+46 73 {100 + n:03d} {10 + n % 89:02d} 55"},
        )

    def slot(day: datetime) -> datetime:
        n = next(slots)
        return _at(clinic, day, 8 + (n % 16) / 2)

    def attempt(step: Clock, operator: Actor, n: int) -> None:
        claim = claim_next(session, step, operator)
        if claim.task is None:
            return
        task = claim.task
        outcome = (Outcome.BOOKED, Outcome.NO_ANSWER, Outcome.BOOKED, Outcome.DECLINED, Outcome.CALLBACK_REQUESTED)[
            n % 5
        ]
        data = AttemptInput(outcome=outcome, duration_seconds=90)
        if outcome is Outcome.BOOKED:
            other = providers[n % len(providers)]  # now and then another specialist than the one suggested
            start = slot(step.now() + timedelta(days=2 + n % 6))
            booking = BookingDetails(start_at=start, provider_id=other.id, service_id=task.service_id)
            data = dataclasses.replace(data, booking=booking)
        elif outcome is Outcome.DECLINED:
            data = dataclasses.replace(data, decline_reason="booked elsewhere")
        elif outcome is Outcome.CALLBACK_REQUESTED:
            data = dataclasses.replace(data, callback_at=_at(clinic, step.now() + timedelta(days=1), 14))
        try:
            result = log_attempt(session, step, operator, task.id, data)
        except RecallError:
            session.rollback()
            release_lease(session, step, operator, task.id)
            return
        made["attempts"] += 1
        if result.booking_id is not None and data.booking is not None:
            made["bookings"] += 1
            booked.append((data.booking.start_at, result.booking_id, task.patient_id))

    desk = actors[Role.FRONTDESK]
    # Patients seen months ago who left undecided: the queue the operators start the three weeks with.
    for k in range(30):
        then = FixedClock(now - timedelta(days=HISTORY_DAYS + 60 + 5 * k))
        patient = new_patient(100 + k)
        provider, service = providers[k % len(providers)], services[k % len(services)]
        visit = check_in(session, then, desk[0], patient_id=patient.id, provider_id=provider.id, service_id=service.id)
        checkout(session, then, desk[0], visit.id, CheckoutRequest(follow_up=FollowUp.UNDECIDED))
    outcomes = [FollowUp.BOOKED, FollowUp.UNDECIDED, FollowUp.DECLINED, FollowUp.UNDECIDED, FollowUp.NOT_NEEDED]
    n = 0
    for back in range(HISTORY_DAYS, 0, -1):
        day = now - timedelta(days=back)
        if day.astimezone(ZoneInfo(clinic.timezone)).weekday() >= 5:
            continue
        # The booked patients of that day come in (one in five does not).
        for start, booking_id, patient_id in [b for b in booked if b[0] < _at(clinic, day, 23.5)]:
            booked.remove((start, booking_id, patient_id))
            step = FixedClock(start)
            try:
                if booking_id % 5 == 0:
                    mark_no_show(session, FixedClock(start + timedelta(hours=1)), desk[0], booking_id)
                    continue
                visit = check_in(session, step, desk[booking_id % 2], patient_id=patient_id, booking_id=booking_id)
                checkout(
                    session,
                    FixedClock(start + timedelta(minutes=30)),
                    desk[0],
                    visit.id,
                    CheckoutRequest(follow_up=FollowUp.NOT_NEEDED),
                )
                made["attended"] += 1
            except RecallError:
                session.rollback()
        # Walk-ins at the desk, each leaving with a follow-up choice.
        for _ in range(3):
            n += 1
            step = FixedClock(_at(clinic, day, 9 + n % 4))
            patient = new_patient(n)
            provider, service = providers[n % len(providers)], services[n % len(services)]
            visit = check_in(
                session, step, desk[n % 2], patient_id=patient.id, provider_id=provider.id, service_id=service.id
            )
            follow_up, booking = outcomes[n % len(outcomes)], None
            if follow_up is FollowUp.BOOKED:
                booking = DeskBooking(
                    start_at=slot(day + timedelta(days=5)), provider_id=provider.id, service_id=service.id
                )
            done = checkout(
                session,
                FixedClock(step.now() + timedelta(minutes=40)),
                desk[n % 2],
                visit.id,
                CheckoutRequest(follow_up=follow_up, booking=booking),
            )
            made["visits"] += 1
            if follow_up is FollowUp.NOT_NEEDED:
                free.append(patient.id)
            if done.booking is not None:
                made["bookings"] += 1
                booked.append((done.booking.start_at, done.booking.id, patient.id))
        # The operators work the queue.
        for k, operator in enumerate(actors[Role.OPERATOR] * 2):
            attempt(FixedClock(_at(clinic, day, 10 + k / 2)), operator, n + k)
    # Today's schedule: what is booked for today, and a few more booked earlier by phone.
    today = [b for b in booked if b[0].date() == now.date()]
    for k, patient_id in enumerate(free[:6]):
        try:
            create_booking(
                session,
                FixedClock(now - timedelta(days=3)),
                actors[Role.OPERATOR][k % len(actors[Role.OPERATOR])],  # a phone booking is the operators' work
                BookingRequest(
                    patient_id=patient_id,
                    start_at=_at(clinic, now, 10 + k),
                    channel=Channel.PHONE,
                    provider_id=providers[k % len(providers)].id,
                    service_id=services[k % len(services)].id,
                ),
            )
            today.append((now, 0, patient_id))
        except RecallError:
            session.rollback()
    made["today"] = len(today)
    return made
