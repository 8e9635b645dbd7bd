"""Visits and bookings: what happens at the clinic and what is booked for later.

- `visits`: in-person visits, check-in, and the checkout where the desk records the follow-up.
- `bookings`: bookings, who made them through which channel, their life (confirm, move, cancel,
  attended, no-show) and the credit and reminders that follow.
"""
