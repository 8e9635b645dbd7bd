"""The recall queue: the operators' work of winning patients back.

- `tasks`: recall tasks (why a patient is in the queue, when they are due, how they closed).
- `claims`: who gets which task next, as a committed lease; renew and release.
- `claim_sheet`: everything an operator sees with a claim.
- `attempts`: contact attempts and what each leads to (a booking, a callback, a decline).
- `surge`: the thresholds past which the queue is in surge.
- `stats`: queue health and the team's KPIs, read-only.
- `staffing`: how many operators it takes to clear the queue in time.
"""
