"""What a reminder call does next, in the domain's words: what to say, whether to collect a key, how to go on.

The webhook views decide this from the domain's answers (``recall.reminders.inbound``) and hand the value to
the adapter, which renders it in the provider's markup (``integrations/twilio/twiml.py``); neither the domain
nor the views write markup. No provider SDK is imported here: both sides import this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Say:
    """Words spoken to the patient, in one of our languages (``Language`` values: "en", "pl", ...)."""

    text: str
    language: str


@dataclass(frozen=True)
class CallScript:
    """One step of a call: say ``say`` (if any), collecting one key press posted to ``gather_to`` while it is
    spoken (if set); then, when no key was pressed, fetch the next step from ``then`` (if set) or hang up."""

    say: Say | None = None
    gather_to: str | None = None
    then: str | None = None


#: End the call, saying nothing.
HANG_UP = CallScript()
