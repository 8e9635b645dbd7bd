"""Reminders: a booking's planned SMS, voice and human calls, sent through the ports, and what came back.

- `planning`: the policy as a document and the pure planner that turns it into send times.
- `policy`: the clinic's stored policy, its versions and the validation of a manager's edit.
- `templates`: reminder texts, rendering in the patient's language, SMS cost.
- `reminders`: the reminder rows, planning and cancelling them for a booking, hand-over and fallback.
- `calls`: reminders as staff see them and the front desk's reminder calls.
- `dispatch`: workers claim due reminders under a lease and send them; `outgoing` is what one sends;
  `pacing` keeps the sender's rate across processes; `recovery` asks after sends lost mid-way.
- `sending`: the ports (message sender, voice caller) that integrations implement.
- `accounts`: a clinic's own Twilio account, sealed at rest.
- `inbound`: delivery receipts, call progress, key presses and SMS replies; `replies` reads what a
  patient meant, `reply_routing` which clinic a reply is for, `voicemail` what a machine means.
"""
