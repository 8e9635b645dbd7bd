"""FHIR R4 adapter: reads Bundles and NDJSON, validates every resource and maps it onto recall's import records.

The resources are validated with ``fhir.resources``' **R4B** models (fhir.resources 8.x ships R5 as its default
model set; R4B, FHIR 4.3, is the R4-compatible one: the resources recall reads, Patient, Practitioner,
PractitionerRole, HealthcareService, Appointment and Encounter, have the same elements in R4 and R4B).

- ``reading``: a Bundle (transaction, batch, collection, searchset, history, subscription-notification) or NDJSON
  into entries, each with its record (``recall.imports.records``) or the problem found, dependencies first.
- ``mapping``: one resource into one record; ``references``: what becomes a record's ``ref`` and how a reference
  is resolved (the rule is in that module's docstring).
- ``responses``: a transaction-response or batch-response Bundle from what applying the records answered.
- ``signing``: Standard Webhooks signatures on the EHR's notifications.

Import the submodules directly; this package reaches the domain only through ``recall.imports.records``.
"""
