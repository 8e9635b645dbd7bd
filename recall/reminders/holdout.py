"""The reminder holdout: a share of a clinic's bookings that gets no automated reminder, so that the no-show rate
with and without reminders can be compared causally (``recall.reminders.no_shows``).

Why it is built this way:

* The choice is a hash, not a random draw: SHA-256 of the clinic's id, the booking's id and the clinic's salt,
  read as a number in [0, 10000) and compared with the share in basis points (``held_out``). The same booking
  always lands on the same side, in any process, and a test can replay it; the salt (drawn when the holdout is
  first switched on, ``recall.clinic.clinics``) keeps the side from being guessed from the ids alone, and keeps
  two clinics' samples independent.
* The side is decided once, when the booking's reminders are first planned, and stored on the booking
  (``Booking.holdout``): True held out, False reminded, None no holdout was on. On the booking, not on its
  reminders, because the booking is what is randomised and what the report counts: a held-out booking has no
  reminder rows to carry a mark, and a reminded one whose steps were all skipped (no consent, too late) is still
  in the reminded arm (intention to treat). A later change of the share re-labels nothing already decided.
* A held-out booking gets no automated send (SMS, voice call): the planner records those steps as skipped
  "held_out", and the dispatcher refuses one at send time as well (a fallback of a human call, a surge's
  automated call), ``recall.reminders.outgoing``. Its human calls are planned only if the clinic says
  ``holdout_human_calls``.
"""

from __future__ import annotations

import hashlib

from recall.clinic.clinics import Clinic
from recall.reminders.planning import HUMAN, Channel
from recall.visits.booking import Booking

BUCKETS = 10_000  # the share is compared in basis points
HELD_OUT = "held_out"  # a skipped step's outcome, and the dispatcher's refusal


def bucket(clinic_id: int, booking_id: int, salt: str) -> int:
    """The booking's place in [0, BUCKETS): uniform, stable, and unguessable without the salt."""
    digest = hashlib.sha256(f"{clinic_id}:{booking_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def held_out(clinic_id: int, booking_id: int, salt: str, percent: int) -> bool:
    """Whether the booking falls in the held-out share (``percent`` of every 100 bookings, in expectation)."""
    return bucket(clinic_id, booking_id, salt) < percent * (BUCKETS // 100)


def assign(clinic: Clinic, booking: Booking) -> None:
    """Decide the booking's side when its reminders are first planned, if the clinic's holdout is on and the
    booking has no side yet; a side once decided is kept."""
    if booking.holdout is not None or clinic.reminder_holdout_percent <= 0 or clinic.reminder_holdout_salt is None:
        return
    booking.holdout = held_out(clinic.id, booking.id, clinic.reminder_holdout_salt, clinic.reminder_holdout_percent)


def is_held_out(booking: Booking | None) -> bool:
    return booking is not None and bool(booking.holdout)


def why_not_planned(clinic: Clinic, booking: Booking, channel: Channel) -> str | None:
    """``HELD_OUT`` when a step on ``channel`` must not be planned for the booking: an automated one of a held-out
    booking, or its human call when the clinic keeps those from held-out bookings too."""
    if not booking.holdout:
        return None
    if channel in HUMAN and clinic.holdout_human_calls:
        return None
    return HELD_OUT
