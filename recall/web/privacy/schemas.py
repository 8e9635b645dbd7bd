"""Bodies and answers of the privacy duties: a patient's export and erasure."""

from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input, Output, strict_bool


class PatientExportSchema(Output):
    exported_at = ma.fields.String()
    clinic_id = ma.fields.Integer()
    patient = ma.fields.Dict(metadata={"description": "the patient's own data"})
    bookings = ma.fields.List(ma.fields.Dict())
    visits = ma.fields.List(ma.fields.Dict())
    recall_tasks = ma.fields.List(ma.fields.Dict(), metadata={"description": "with the SMS texts the patient sent"})
    contact_attempts = ma.fields.List(ma.fields.Dict(), metadata={"description": "with the staff's notes"})
    reminders = ma.fields.List(ma.fields.Dict())


class ErasureInputSchema(Input):
    confirm = strict_bool(
        required=True,
        validate=ma.validate.Equal(True, error="must be true: an erasure cannot be undone"),
        metadata={"description": "true: the erasure cannot be undone"},
    )


class ErasureSchema(Output):
    patient_id = ma.fields.Integer()
    texts_cleared = ma.fields.Integer(metadata={"description": "rows whose free texts were emptied"})
    events_scrubbed = ma.fields.Integer(metadata={"description": "webhook events whose patient identifier went"})
