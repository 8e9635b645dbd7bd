"""TwiML documents for reminder calls, built with the SDK's VoiceResponse.

Built with the SDK rather than string templates so that the patient-facing
text is always XML-escaped and the verbs and attributes are spelled the way
Twilio parses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse


@dataclass(frozen=True)
class SayVoice:
    """The <Say> language code and a voice that Twilio supports for it."""

    language: str
    voice: str


#: Our patient languages -> Twilio <Say> settings. Amazon Polly *standard* voices
#: are used because each of these five languages has one (Russian has no
#: Polly neural voice), and a voice/language mismatch makes <Say> fail.
VOICES: dict[str, SayVoice] = {
    "en": SayVoice("en-GB", "Polly.Amy"),
    "pl": SayVoice("pl-PL", "Polly.Ewa"),
    "ru": SayVoice("ru-RU", "Polly.Tatyana"),
    "sv": SayVoice("sv-SE", "Polly.Astrid"),
    "zh": SayVoice("cmn-CN", "Polly.Zhiyu"),
}


def voice_for(language: str) -> SayVoice:
    """Return the Say settings for one of our languages; an unknown one is a programming error."""
    try:
        return VOICES[language]
    except KeyError:
        raise ValueError(f"no Twilio voice configured for language {language!r}") from None


def reminder_call_twiml(text: str, language: str, *, action_url: str, repeat_url: str | None) -> str:
    """Speak ``text`` and collect one key press, posted to ``action_url``.

    Twilio runs the verbs after <Gather> only when the caller pressed nothing:
    then the call is redirected to ``repeat_url`` (which should answer with this
    document again, with ``repeat_url=None``, so the message repeats once) or hung up.
    """
    voice = voice_for(language)
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action_url, method="POST")
    gather.say(text, language=voice.language, voice=voice.voice)
    response.append(gather)
    if repeat_url:
        response.redirect(repeat_url, method="POST")
    else:
        response.hangup()
    return str(response.to_xml())


def say_and_hangup(text: str, language: str) -> str:
    """Speak ``text`` (a confirmation, a goodbye) and end the call."""
    voice = voice_for(language)
    response = VoiceResponse()
    response.say(text, language=voice.language, voice=voice.voice)
    response.hangup()
    return str(response.to_xml())
