"""TwiML documents: a reminder call's next step (``recall.reminders.call_script``) and an SMS reply, rendered.

The webhook views decide what the call says and does in the domain's words, and only this module writes the
markup. Built with the SDK rather than string templates so that the patient-facing text is always XML-escaped
and the verbs and attributes are spelled the way Twilio parses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from recall.reminders.call_script import CallScript, Say


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


#: The answer to a status callback: nothing to do.
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def render(script: CallScript) -> str:
    """A call's next step. Twilio runs the verbs after <Gather> only when the caller pressed nothing: then the call
    is redirected to ``script.then`` (whose answer is the next step) or hung up."""
    response = VoiceResponse()
    if script.say is not None:
        voice = voice_for(script.say.language)
        if script.gather_to is not None:
            gather = Gather(num_digits=1, action=script.gather_to, method="POST")
            gather.say(script.say.text, language=voice.language, voice=voice.voice)
            response.append(gather)
        else:
            response.say(script.say.text, language=voice.language, voice=voice.voice)
    if script.then:
        response.redirect(script.then, method="POST")
    else:
        response.hangup()
    return str(response.to_xml())


def sms_reply(text: str | None) -> str:
    """The answer to an incoming SMS: ``text`` sent back to the patient, or nothing."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())


def reminder_call_twiml(text: str, language: str, *, action_url: str, repeat_url: str | None) -> str:
    """Speak ``text`` and collect one key press, posted to ``action_url``.

    Twilio runs the verbs after <Gather> only when the caller pressed nothing:
    then the call is redirected to ``repeat_url`` (which should answer with this
    document again, with ``repeat_url=None``, so the message repeats once) or hung up.
    """
    return render(CallScript(say=Say(text, language), gather_to=action_url, then=repeat_url))


def say_and_hangup(text: str, language: str) -> str:
    """Speak ``text`` (a confirmation, a goodbye) and end the call."""
    return render(CallScript(say=Say(text, language)))
