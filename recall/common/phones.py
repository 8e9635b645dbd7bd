"""Phone numbers are parsed once, at the edge, and are E.164 everywhere inside."""

from __future__ import annotations

import re

import phonenumbers

from recall.common.errors import ValidationError

# What people write in a phone number: digits, spaces, and + ( ) - . as separators, a + only first. Nothing else:
# phonenumbers reads letters as keypad digits ("12345abc" -> 12345222) and drops trailing junk, so a typo would
# become somebody else's number. No extension syntax either: SMS and automated calls cannot dial one.
_WRITTEN_NUMBER = re.compile(r"\+?[0-9 ().\-]+")


def to_e164(raw: str, default_region: str, field: str = "phone") -> str:
    """Parse ``raw`` (national or international) against the clinic's region."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError("a phone number is required", field=field)
    if not _WRITTEN_NUMBER.fullmatch(raw.strip()) or not any(c.isdigit() for c in raw):
        raise ValidationError(
            f"is not a phone number: write only digits, spaces, a leading + and ( ) - . ('{raw}')", field=field
        )
    try:
        number = phonenumbers.parse(raw, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"'{raw}' is not a phone number: {_reason(exc)}", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            f"is not a valid phone number ('{raw}' read with default region {default_region.upper()})", field=field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_region(region: str, field: str = "phone_region") -> str:
    code = (region or "").upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"'{region}' is not a supported ISO 3166 region code (for example PL, SE)", field=field)
    return code


def _reason(exc: phonenumbers.NumberParseException) -> str:
    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, "cannot be read")
