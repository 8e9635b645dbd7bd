"""Signing and checking X-Twilio-Signature, the proof that a webhook came from Twilio.

Twilio signs the exact URL it requested plus the sorted POST parameters with
HMAC-SHA1 keyed by the account's auth token. The SDK's RequestValidator does the
arithmetic; this module gives it one call shape that accepts multi-valued forms
(a repeated key such as ``StatusCallbackEvent`` would break a plain dict).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from twilio.request_validator import RequestValidator

FormParams = Mapping[str, str] | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]


class _MultiParams:
    """A read-only multi-dict with the ``getall`` that RequestValidator looks for."""

    def __init__(self, params: FormParams) -> None:
        self._values: dict[str, list[str]] = {}
        items = params.items() if isinstance(params, Mapping) else params
        getall = getattr(params, "getall", None) or getattr(params, "getlist", None)
        for key, value in items:
            if getall is not None:
                self._values[key] = [str(v) for v in getall(key)]
            elif isinstance(value, (list, tuple)):
                self._values.setdefault(key, []).extend(str(v) for v in value)
            else:
                self._values.setdefault(key, []).append(str(value))

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def getall(self, key: str) -> list[str]:
        """Every value of ``key``, as RequestValidator expects of a multi-dict."""
        return self._values[key]


def sign(auth_token: str, url: str, params: FormParams) -> str:
    """Compute the X-Twilio-Signature Twilio would send for this URL and form."""
    return str(RequestValidator(auth_token).compute_signature(url, _MultiParams(params)))


def verify(auth_token: str, url: str, params: FormParams, signature: str | None) -> bool:
    """True when ``signature`` matches; the URL must be the one Twilio requested, query included."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, _MultiParams(params), signature))
