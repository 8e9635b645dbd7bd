"""The clinic core: who the clinic is, who works there, whom it treats and what it offers.

- `clinics`: a clinic and its settings (zone, phone region, recall timing, calling hours).
- `opening`: opening a clinic with its default settings and pay plan, in one transaction.
- `staff`: staff members, their roles and their API tokens (stored hashed).
- `patients`: patients, their E.164 phone, language, consent per channel and opt-out flag.
- `ehr`: the EHR's wiring: integration tokens (FHIR endpoints only), the notification secret, seen notifications.
- `catalog`: providers (doctors, with a specialty) and services (visit types, follow-up intervals).
"""
