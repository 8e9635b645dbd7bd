from __future__ import annotations

import marshmallow as ma

from recall.web.common import Input, Output, PageArgs, StaffRole, strict_bool


class StaffSchema(Output):
    id = ma.fields.Integer()
    clinic_id = ma.fields.Integer()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    role = StaffRole()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class StaffCreateSchema(Input):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    role = StaffRole(required=True)
    email = ma.fields.Email(load_default=None, validate=ma.validate.Length(max=254))


class StaffUpdateSchema(Input):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    active = strict_bool()


class StaffListArgs(PageArgs):
    role = StaffRole()
    active = ma.fields.Boolean()


class TokenCreateSchema(Input):
    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class TokenSchema(Output):
    id = ma.fields.Integer()
    staff_id = ma.fields.Integer()
    hint = ma.fields.String(metadata={"description": "the token's first characters"})
    label = ma.fields.String()
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "the secret; shown this once and never again"})
