"""What comes back after a reminder went out: delivery receipts, call progress, key presses and SMS replies.

Why it is built this way:

* Twilio retries webhooks and does not keep them in order. A reminder's status
  only moves forward (a late "sent" after "delivered" changes nothing), so a
  receipt needs no bookkeeping of its own. A key press or an SMS reply has
  effects that must not repeat (a cancellation, a task), so it is recorded in
  ``webhook_receipts`` first; a retry finds its receipt, changes nothing and is
  answered from the state the first delivery left.
* A callback acts only on our own sends: the reminder whose SID we recorded (and, when its URL names a
  reminder with ``?r=<id>``, that very one). The one exception is a reminder whose send ended ``unknown``
  (our request may have reached Twilio, no SID recorded): its callback URL names it, so the first callback
  tells us the SID and what became of it. A callback naming a reminder never sent (still planned, or being
  sent right now), or with a SID that is not the named reminder's, changes nothing. It is answered 200 all
  the same, or Twilio would retry it for hours, and logged with the reminder's id only. A key press or the
  call's script is served only to the reminder's own call, by the same rule.
* A reminder that fails for good runs its step's fallback once, on the
  transition to ``failed``, exactly as the sender does for a refusal
  (``reminders.fall_back``): a new reminder due now (for a human call, an
  operator's task), unless the booking is over or the patient may not be
  contacted that way.
* Booking changes go through ``recall.bookings`` so the credit ledger and the
  recall re-opening stay in one place. Those use cases commit, so they are the
  last step; every other path commits here, once.
* No Flask, no Twilio: the web package checks signatures, and the adapter (``integrations/twilio``) translates
  Twilio's words into delivery reports and writes TwiML. No SMS body or phone is logged.

The modules: ``receipts`` (which send a webhook is about; one that was applied already), ``progress``
(delivery receipts and call progress), ``voice`` (the voice call), ``sms`` (SMS replies) and ``answers``
(what confirm, cancel and a request do). The use cases the webhook views call are imported here.
"""

from recall.reminders.inbound.progress import call_status, message_status
from recall.reminders.inbound.receipts import WebhookReceipt, first_receipt
from recall.reminders.inbound.sms import inbound_sms
from recall.reminders.inbound.voice import gather, own_call, voice_script
from recall.reminders.templates.acknowledgements import Ack, ack_text

__all__ = [
    "Ack",
    "WebhookReceipt",
    "ack_text",
    "call_status",
    "first_receipt",
    "gather",
    "inbound_sms",
    "message_status",
    "own_call",
    "voice_script",
]
