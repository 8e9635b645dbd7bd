from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input, Output


class BundleResponseSchema(Output):
    resourceType = ma.fields.String(metadata={"description": "Bundle"})
    type = ma.fields.String(metadata={"description": "transaction-response or batch-response"})
    entry = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "one per entry sent, in its order: {response: {status, location?, outcome?}}; "
            "outcome is an OperationOutcome naming the element (expression) and the reason (diagnostics)"
        },
    )


class ProblemSchema(Output):
    path = ma.fields.String(metadata={"description": "the FHIR element, e.g. Appointment.participant[0].actor"})
    reason = ma.fields.String()


class NotifiedEntrySchema(Output):
    index = ma.fields.Integer(metadata={"description": "the entry's position in the Bundle"})
    resource_type = ma.fields.String(allow_none=True)
    ref = ma.fields.String(allow_none=True, metadata={"description": "the resource's identifier (our external_ref)"})
    result = ma.fields.String(metadata={"description": "created, updated, unchanged, refused or ignored"})
    id = ma.fields.Integer(allow_none=True, metadata={"description": "our row's id"})
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema))


class NotificationSchema(Output):
    webhook_id = ma.fields.String()
    replay = ma.fields.Boolean(metadata={"description": "true: this webhook-id was seen before and nothing was done"})
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    entries = ma.fields.List(ma.fields.Nested(NotifiedEntrySchema))


class IntegrationTokenCreateSchema(Input):
    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class IntegrationTokenSchema(Output):
    id = ma.fields.Integer()
    hint = ma.fields.String(metadata={"description": "the token's first characters"})
    label = ma.fields.String()
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)


class IssuedIntegrationTokenSchema(IntegrationTokenSchema):
    token = ma.fields.String(metadata={"description": "the secret (rci_...); shown this once and never again"})


class EhrSecretSchema(Output):
    ehr_secret = ma.fields.String(metadata={"description": "whsec_...: signs the EHR's notifications; shown once"})
    notify_url = ma.fields.String(metadata={"description": "where the EHR posts its notifications"})
