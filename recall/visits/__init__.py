"""Visits and bookings: what happens at the clinic and what is booked for later.

- `visit`: a visit and its words (checked in or out, the follow-up recorded at checkout) and its queries.
- `visits`: check-in, and the checkout where the desk records the follow-up (booked now, declined, ...).
- `booking`: a booking and its words (status, channel, source, allowed moves), its queries, a patient's
  upcoming bookings, and the one lock order (the patient, then the booking) every change takes.
- `bookings`: making, confirming and moving a booking, with the credit and reminders that follow.
- `booking_outcomes`: how a booking ends (attended, no-show, cancelled) and what follows.
"""
