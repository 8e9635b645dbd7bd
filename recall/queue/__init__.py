"""The recall queue: the operators' work of winning patients back.

- `tasks`: recall tasks (why a patient is in the queue, when they are due, how they closed).
- `claims`: who gets which task next, as a committed lease; renew and release. `claim_statements`: its
  statements, prebuilt; `calling_hours`: which zones are inside a clinic's calling hours now.
- `claim_sheet`: everything an operator sees with a claim.
- `desk`: what the operator's desk reads beside it (the patient held now, outcomes per task, callbacks due).
- `attempts`: contact attempts and what each leads to (a booking, a callback, a decline).
- `service_edits`: a manager's edit of a service, with the re-ranking of the queue it causes.
- `surge`: the thresholds past which the queue is in surge.
- `health`: how the queue stands right now; `stats`: the team's KPIs and their definitions; `measures`:
  the SQL behind them (periods in the clinic's zone, attempt stretches, closures, credited bookings).
- `staffing`: how many operators it takes to clear the queue in time.
- `targets`: a manager's targets per KPI that rise each month up to a cap; `target_progress`: how each stands
  in a month, and whether it is on track.
"""
