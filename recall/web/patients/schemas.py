from __future__ import annotations

from typing import Any

import marshmallow as ma

from recall.clinic.patients import EARLIEST_BIRTH_DATE, Language
from recall.web.common import Day, Input, Output, PageArgs, strict_bool


def BirthDate(**kwargs: Any) -> Day:
    """Any real day from 1900-01-01; "not after today" needs the clinic's zone, so the use case checks it."""
    return Day(
        earliest=EARLIEST_BIRTH_DATE,
        latest=None,
        metadata={"description": "from 1900-01-01 to today in the clinic's time zone", "x-maximum": "today"},
        **kwargs,
    )


class PatientSchema(Output):
    id = ma.fields.Integer()
    full_name = ma.fields.String()
    phone = ma.fields.String(attribute="phone_e164", metadata={"description": "E.164"})
    language = ma.fields.Enum(Language, by_value=True)
    timezone = ma.fields.String(allow_none=True)
    date_of_birth = BirthDate(allow_none=True)
    external_ref = ma.fields.String(allow_none=True)
    consent_sms = ma.fields.Boolean()
    consent_voice = ma.fields.Boolean()
    consent_call = ma.fields.Boolean()
    opted_out = ma.fields.Boolean()
    opted_out_at = ma.fields.DateTime(allow_none=True)
    phone_invalid = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PatientUpdateSchema(Input):
    full_name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    phone = ma.fields.String(
        validate=ma.validate.Length(min=3, max=40),
        metadata={"description": "national (read with the clinic's region) or international"},
    )
    language = ma.fields.Enum(Language, by_value=True)
    timezone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=64))
    date_of_birth = BirthDate(allow_none=True)
    external_ref = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=64))
    consent_sms = strict_bool()
    consent_voice = strict_bool()
    consent_call = strict_bool()
    opted_out = strict_bool()


class PatientCreateSchema(PatientUpdateSchema):
    full_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=40))
    language = ma.fields.Enum(Language, by_value=True, load_default=Language.EN)


class PatientListArgs(PageArgs):
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=100), metadata={"description": "part of the name"})
    phone = ma.fields.String(validate=ma.validate.Length(min=3, max=40))
    language = ma.fields.Enum(Language, by_value=True)
