"""Twilio's webhooks: delivery receipts, call progress, the call's script and key presses, SMS replies.

A plain Flask blueprint under ``/webhooks/twilio``, outside ``/api/v1`` and the
OpenAPI document: its caller is Twilio, proven by ``X-Twilio-Signature`` rather
than a staff member's bearer token, and it answers in TwiML.
"""

from recall.web.webhooks.routes import PREFIX, blp

__all__ = ["PREFIX", "blp"]
