"""Why a request to Twilio did not (knowingly) succeed, in the domain's words: a ``SendError`` whose class says
what the caller must decide next (retry, give up, or reconcile) and whose reason is a ``SendFailure``.

Twilio's HTTP statuses and error codes (21610: the recipient replied STOP, ...) are read here and nowhere else;
the code is kept on the error as an opaque number for the record.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from recall.reminders.delivery import SendFailure
from recall.reminders.sending import PermanentSendError, SendError, TransientSendError, UnknownOutcomeError

#: Twilio's error codes for a refusal that means something for the patient or the number; any other is REJECTED.
_PERMANENT_REASONS: dict[int, SendFailure] = {
    21610: SendFailure.OPTED_OUT,  # the recipient replied STOP
    21211: SendFailure.INVALID_PHONE,  # not a valid number
    21614: SendFailure.INVALID_PHONE,  # not a mobile number
    21612: SendFailure.UNREACHABLE_DESTINATION,
    21408: SendFailure.UNREACHABLE_DESTINATION,  # a region the account may not send to
}


def classify_rest_error(status: int, code: int | None) -> SendError:
    """Map an HTTP status and Twilio error code to our error hierarchy."""
    if status == 429 or code == 20429:
        return TransientSendError(SendFailure.RATE_LIMITED, code=code, status=status)
    if status >= 500:
        return TransientSendError(SendFailure.PROVIDER_ERROR, code=code, status=status)
    return PermanentSendError(_PERMANENT_REASONS.get(code or 0, SendFailure.REJECTED), code=code, status=status)


def classify_connection_error(error: requests.RequestException) -> SendError:
    """Tell "never connected" (safe to retry) from "sent, then lost" (outcome unknown)."""
    if isinstance(error, requests.ConnectTimeout):
        return TransientSendError(SendFailure.CONNECT_TIMEOUT)
    if isinstance(error, requests.Timeout):  # a ReadTimeout: the request was written
        return UnknownOutcomeError(SendFailure.READ_TIMEOUT)
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        # NewConnectionError covers refused connections and (urllib3 2) failed DNS look-ups.
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            return TransientSendError(SendFailure.CONNECTION_FAILED)
        if isinstance(error, requests.exceptions.SSLError):
            return TransientSendError(SendFailure.TLS_FAILED)
    # A reset or a close after the request went out, a truncated body, anything else.
    return UnknownOutcomeError(SendFailure.CONNECTION_LOST)
