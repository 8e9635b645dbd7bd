"""Imports: what a clinic's EHR or practice system says, applied through our own use cases.

- `records`: the source-neutral records an importer produces (a patient, a provider, a service, an
  appointment, an encounter), each keyed by the source's identifier (kept as our ``external_ref``), and
  what applying one answered (``EntryOutcome``).

The importers of each format (FHIR R4 in ``integrations/fhir``, CSV here) turn their input into these
records; applying one is idempotent by its identifier, and never half-applies: each record is its own
savepoint.
"""
