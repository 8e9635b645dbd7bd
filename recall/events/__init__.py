"""Events: what recall tells the clinic's other systems (its CRM) happened, through an outbox.

- `types`: the event vocabulary (``booking.created`` ...) and the resource an event is about.
- `tables`: the outbox (``webhook_events``), the manager's endpoints and one delivery per event and endpoint.
- `outbox`: ``emit``, called by the use cases in the change's own transaction; it writes the event and its
  deliveries to every enabled endpoint subscribed to the type (the fan-out happens there, not in the worker).
- `endpoints`: registering, editing, disabling endpoints and their signing secrets (sealed at rest).
- `port`: what the worker needs from an HTTP sender (``integrations.webhooks`` implements it).
- `claims`: leasing due deliveries to a worker, in order per resource and endpoint.
- `delivery`: the worker's loop: claim, sign and send, record the answer, retry on the schedule, disable.
- `log`: the delivery log and replays.
"""
