"""Credit: who earned each booking and what it is worth.

- `payplan`: the clinic's pay plan, per role and service, with the recall multiplier.
- `ledger`: the append-only ledger (pending when booked, earned when attended, void otherwise).
- `worth`: what a recall task brings the operator who books it, once the patient attends.
- `earnings`: what the ledger adds up to per staff member and team, and a what-if under another plan.
"""
