"""Privacy duties (GDPR): what recall holds about one patient, their erasure, and how long texts are kept.

- `export`: everything recall holds about a patient, as one JSON document for the patient who asks.
- `erasure`: a patient forgotten: personal data removed or anonymised everywhere it lives, bookings and the credit
  ledger kept with their amounts (pay stays right; the append-only ledger is not touched).
- `retention`: SMS texts and webhook receipts older than the clinic's retention are purged by the worker.
"""
