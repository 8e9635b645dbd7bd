"""How the error handler names the fields of a refused request.

It lived with the rules in tests/unit, but ``flatten`` belongs to recall.web, which imports Flask, and the unit
tests import no Flask.
"""

from __future__ import annotations

from recall.web.errors import flatten


def test_nested_validation_messages_flatten_to_dotted_field_names():
    nested = {
        "booking": {"start_at": ["Not a valid datetime."]},
        "follow_up": ["Missing data."],
        "service_rates": {0: {"role": ["bad"]}},
        "_schema": ["whole"],
    }
    assert flatten(nested) == {
        "booking.start_at": ["Not a valid datetime."],
        "follow_up": ["Missing data."],
        "service_rates.0.role": ["bad"],
        "body": ["whole"],
    }
