"""Reminders: a booking's planned SMS, voice and human calls, sent through the ports, and what came back.

Planning and policy
- `planning`: the policy as a document and the pure planner that turns it into send times.
- `policy_validation`: the manager's untrusted JSON checked into a `PolicyDoc`.
- `policy_versions`: the stored versions and their reads; `policy`: saving one (and re-planning the
  clinic's future bookings under it) and the preview.
- `templates/`: texts, GSM-7 segments, validation, rendering, the manager's warnings, and the
  acknowledgements a patient gets back.
- `reminders`: the reminder rows, planning and cancelling them for a booking, whether a patient may be
  contacted on a channel, hand-over to people and fallback.
- `calls`: reminders as staff see them, and the front desk's reminder calls.
- `patient_edits`: patient edits that reach past the patient (an opt-out closes tasks, cancels reminders).
- `holdout`: the share of bookings held out from automated reminders, picked by a salted hash of the booking.

Sending
- `sending`: the ports (message sender, voice caller) that integrations implement; `delivery` and
  `call_script` are the words the ports speak (what the provider reported, what a call does next).
- `dispatch`: the worker's loop; `leases` claims due reminders under a lease; `claimed_send` sends one;
  `settling` decides what becomes of one not sent; `recording` writes a success down; `outgoing` is what one
  send reads and checks; `pacing` keeps a sender's rate across processes; `recovery` asks after lost sends;
  `refusals` is what a refusal for good says about the patient; `outcomes` names every outcome.
- `accounts`: a clinic's own Twilio account, its token sealed at rest.

What comes back
- `inbound/`: which send a webhook is about (`receipts`), delivery and call progress (`progress`), the call
  (`voice`), SMS replies (`sms`), and what confirm, cancel and a request do (`answers`); `replies` reads what
  a patient meant, `reply_routing` which clinic a reply is for, `voicemail` what a machine means.
- `no_shows`: the no-show rate with and without reminders (reminded against held-out bookings, Wilson intervals).
"""
