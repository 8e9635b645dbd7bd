"""Imports: what a clinic's EHR or practice system says, applied through our own use cases.

- `records`: the source-neutral records an importer produces (a patient, a provider, a service, an
  appointment, an encounter), each keyed by the source's identifier (kept as our ``external_ref``), and
  what applying one answered (``EntryOutcome``).
- `apply`: ``apply_record``, one record in a savepoint of its own, dispatched to the appliers by kind:
  `apply_patients`, `apply_catalog` (providers, services), `apply_appointments` (bookings) and
  `apply_encounters` (visits); `refs` finds our rows by the source's identifiers.
- `batches`: ``import_records``, many records in committed batches, or a dry run that writes nothing, and the
  ``ImportReport`` it answers.

The importers of each format (FHIR R4 in ``integrations/fhir``, CSV here) turn their input into these
records; applying one is idempotent by its identifier, and never half-applies: each record is its own
savepoint.
"""
