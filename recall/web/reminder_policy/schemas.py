"""The reminder policy document on the wire, and the preview a manager asks for.

The schemas check the shape (types, ranges, known keys) and document it in the
OpenAPI file; ``recall.reminders.policy_validation.validate_policy`` checks the rules that
need the clinic (its services and providers, its phone region) and the
templates, and names problems with the same dotted paths.
"""

from __future__ import annotations

import marshmallow as ma

from recall.clinic.patients import Language
from recall.reminders.planning import (
    MAX_OFFSET,
    MAX_RATE,
    MAX_STEPS,
    MIN_OFFSET,
    MIN_RATE,
    TEMPLATE_CHANNELS,
    Channel,
    Fallback,
    OnMachine,
)
from recall.reminders.policy_validation import MAX_OVERRIDES
from recall.reminders.templates import MAX_TEMPLATE_CHARS
from recall.web.common import Id, Input, Instant, Output, StrictFloat, strict_bool

HHMM = ma.validate.Regexp(r"^([01]\d|2[0-4]):[0-5]\d$", error="must be a time of day as HH:MM")
LANGUAGES = [lang.value for lang in Language]


def _one_of(values: list[str]) -> ma.validate.OneOf:
    return ma.validate.OneOf(values, error="must be one of: " + ", ".join(values))


class StepSchema(Input):
    offset_minutes = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(MIN_OFFSET, MAX_OFFSET),
        metadata={"description": "How long before the visit, in minutes (5 to 43200)."},
    )
    channel = ma.fields.String(required=True, validate=_one_of([c.value for c in Channel]))
    run_if_confirmed = strict_bool(
        metadata={"description": "Still run when the patient already confirmed (default false)."}
    )
    routine = strict_bool(
        metadata={"description": "A routine human call goes out as a voice call during a surge (default true)."}
    )
    fallback = ma.fields.String(
        validate=_one_of([f.value for f in Fallback]),
        metadata={"description": "What to do when the step fails for good (default none)."},
    )
    on_machine = ma.fields.String(
        validate=_one_of([o.value for o in OnMachine]),
        metadata={
            "description": "When the step's voice call (the step itself, its fallback, or a human call moved to voice "
            "in a surge) reaches an answering machine: fallback (hang up; the call failed and the "
            "step's fallback runs; the default) or voicemail (leave a short message naming only the "
            "clinic and asking the patient to call back, in their language)."
        },
    )


class OverrideSchema(Input):
    service_id = Id(strict=True, allow_none=True)
    provider_id = Id(strict=True, allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(StepSchema), required=True, validate=ma.validate.Length(max=MAX_STEPS))


class HoursSchema(Input):
    weekday_start = ma.fields.String(validate=HHMM)
    weekday_end = ma.fields.String(validate=HHMM)
    weekend_start = ma.fields.String(validate=HHMM)
    weekend_end = ma.fields.String(validate=HHMM)


TextsSchema = type(
    "TextsSchema",
    (Input,),
    {lang: ma.fields.String(validate=ma.validate.Length(max=MAX_TEMPLATE_CHARS)) for lang in LANGUAGES},
)
TemplatesSchema = type("TemplatesSchema", (Input,), {ch: ma.fields.Nested(TextsSchema) for ch in TEMPLATE_CHANNELS})


class SenderSchema(Input):
    from_number = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))
    messaging_service_sid = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=34))


_NO_LIMIT = (
    "null: no limit of ours (Twilio queues what exceeds the sender's throughput); for a short code or a "
    "Messaging Service whose pool paces itself. Default 1 (a long code)."
)


class RateLimitsSchema(Input):
    sms_per_second = StrictFloat(
        allow_nan=False,
        allow_none=True,
        validate=ma.validate.Range(MIN_RATE, MAX_RATE),
        metadata={"description": "SMS per second, for all workers together; " + _NO_LIMIT},
    )
    calls_per_second = StrictFloat(
        allow_nan=False,
        allow_none=True,
        validate=ma.validate.Range(MIN_RATE, MAX_RATE),
        metadata={"description": "Calls per second; " + _NO_LIMIT},
    )


class PolicySchema(Input):
    """The whole policy; a key left out takes the default policy's value."""

    steps = ma.fields.List(
        ma.fields.Nested(StepSchema),
        required=True,
        validate=ma.validate.Length(max=MAX_STEPS),
        metadata={"description": "The clinic's steps; [] sends no reminders."},
    )
    overrides = ma.fields.List(
        ma.fields.Nested(OverrideSchema),
        validate=ma.validate.Length(max=MAX_OVERRIDES),
        metadata={"description": "Steps for one service or provider; a provider's win."},
    )
    hours = ma.fields.Nested(HoursSchema, metadata={"description": "Calling hours in the patient's local time."})
    templates = ma.fields.Nested(
        TemplatesSchema,
        metadata={"description": "Texts per channel and language; a language left out uses the built-in text."},
    )
    show_provider = strict_bool(metadata={"description": "Whether templates may name the provider ({provider})."})
    sender = ma.fields.Nested(SenderSchema)
    rate_limits = ma.fields.Nested(RateLimitsSchema)


class ReplanSchema(Output):
    policy_version = ma.fields.Integer(metadata={"description": "The version the future bookings are planned by."})
    status = ma.fields.String(
        metadata={
            "description": "running: the worker is re-planning; done; superseded: a newer save started its own run."
        }
    )
    total = ma.fields.Integer(metadata={"description": "The clinic's future bookings when the save was made."})
    done = ma.fields.Integer(
        metadata={
            "description": "Bookings re-planned so far, soonest first. A reminder falling due before its booking's "
            "turn is re-planned first, so none goes out under a replaced version."
        }
    )
    started_at = Instant()
    finished_at = Instant(allow_none=True)


class PolicyVersionSchema(Output):
    version = ma.fields.Integer(metadata={"description": "0: the built-in default, never saved"})
    created_at = ma.fields.DateTime(allow_none=True)
    created_by_id = ma.fields.Integer(allow_none=True)
    policy = ma.fields.Nested(PolicySchema, attribute="body")
    warnings = ma.fields.List(ma.fields.String())
    replan = ma.fields.Nested(
        ReplanSchema,
        allow_none=True,
        metadata={
            "description": "The re-plan of the clinic's future bookings that the last save started (null before "
            "any save, and in the list of versions). A save answers at once; the worker re-plans in short "
            "batches, and this is its progress."
        },
    )


class PreviewSchema(Input):
    policy = ma.fields.Nested(PolicySchema, metadata={"description": "An unsaved policy; default: the current one."})
    template = ma.fields.String(
        validate=ma.validate.Length(min=1, max=MAX_TEMPLATE_CHARS),
        metadata={"description": "A text to try; default: the policy's text."},
    )
    language = ma.fields.String(load_default="en", validate=_one_of(LANGUAGES))
    channel = ma.fields.String(load_default="sms", validate=_one_of(list(TEMPLATE_CHANNELS)))
    start_at = Instant(metadata={"description": "The sample visit; default: 3 days ahead at 10:00 local time."})
    timezone = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "The patient's zone; default: the clinic's."},
    )
    service_id = Id(strict=True)
    provider_id = Id(strict=True)
    confirmed = strict_bool(load_default=False)
    surge = strict_bool(load_default=False)


class SegmentsSchema(Output):
    encoding = ma.fields.String()
    units = ma.fields.Integer()
    segments = ma.fields.Integer()


class PlannedStepSchema(Output):
    step_index = ma.fields.Integer()
    channel = ma.fields.String()
    fallback = ma.fields.String()
    offset_minutes = ma.fields.Integer()
    send_at = ma.fields.DateTime()
    local_send_at = ma.fields.String(metadata={"description": "send_at on the patient's wall clock"})
    moved = ma.fields.Boolean()
    automated_from = ma.fields.String(
        allow_none=True,
        metadata={"description": "a routine human call the surge moved to an automated channel: the channel it had"},
    )
    skipped_reason = ma.fields.String(
        allow_none=True, metadata={"description": "null, too_late, confirmed, no_calling_hours or after_start"}
    )


class PreviewResultSchema(Output):
    version = ma.fields.Integer(allow_none=True, metadata={"description": "null for a posted, unsaved policy"})
    channel = ma.fields.String()
    language = ma.fields.String()
    text = ma.fields.String()
    segments = ma.fields.Nested(SegmentsSchema, allow_none=True, metadata={"description": "SMS only"})
    worst_case = ma.fields.Nested(
        SegmentsSchema,
        allow_none=True,
        metadata={"description": "SMS only: the longest clinic name, date and time the language can produce"},
    )
    warnings = ma.fields.List(ma.fields.String())
    start_at = ma.fields.DateTime()
    timezone = ma.fields.String()
    plan = ma.fields.List(ma.fields.Nested(PlannedStepSchema))
