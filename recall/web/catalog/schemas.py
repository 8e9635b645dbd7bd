from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input, Output, PageArgs, StrictFloat, strict_bool


class ProviderSchema(Output):
    id = ma.fields.Integer()
    name = ma.fields.String()
    specialty = ma.fields.String()
    active = ma.fields.Boolean()


class ProviderUpdateSchema(Input):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    specialty = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    active = strict_bool()


class ProviderCreateSchema(ProviderUpdateSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    specialty = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class ServiceSchema(Output):
    id = ma.fields.Integer()
    name = ma.fields.String()
    duration_minutes = ma.fields.Integer()
    follow_up_interval_days = ma.fields.Integer(allow_none=True)
    value_weight = ma.fields.Float()
    active = ma.fields.Boolean()


class ServiceUpdateSchema(Input):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    duration_minutes = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=5, max=720))
    follow_up_interval_days = ma.fields.Integer(
        strict=True, allow_none=True, validate=ma.validate.Range(min=1, max=3650)
    )
    value_weight = StrictFloat(
        allow_nan=False,
        validate=ma.validate.Range(min=0.1, max=10),
        metadata={
            "description": "Value of winning this patient back; each point above 1 counts as a day "
            "more overdue in the recall queue, and it multiplies overdue age in a surge."
        },
    )
    active = strict_bool()


class ServiceCreateSchema(ServiceUpdateSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class CatalogListArgs(PageArgs):
    active = ma.fields.Boolean()
