from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input, Output


class IntegrationSchema(Output):
    has_launch_secret = ma.fields.Boolean()
    rotated_at = ma.fields.DateTime(allow_none=True, metadata={"description": "when the launch secret was made"})
    previous_valid_until = ma.fields.DateTime(
        allow_none=True, metadata={"description": "the previous launch secret still verifies until then"}
    )
    frame_origins = ma.fields.List(
        ma.fields.String(), metadata={"description": "the https origins that may frame the console"}
    )


class IssuedSecretSchema(IntegrationSchema):
    launch_secret = ma.fields.String(metadata={"description": "the new launch secret; shown this once and never again"})


class FrameOriginsSchema(Input):
    frame_origins = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=300)),
        required=True,
        validate=ma.validate.Length(max=50),
        metadata={"description": "exact https origins (https://crm.example.com); empty: no site may frame it"},
    )
