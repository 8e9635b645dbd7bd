"""The TwiML our reminder calls answer with: valid XML, one key press, the patient's language."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from integrations.twilio.twiml import VOICES, reminder_call_twiml, say_and_hangup

LANGUAGES = {"en": "en-GB", "pl": "pl-PL", "ru": "ru-RU", "sv": "sv-SE", "zh": "cmn-CN"}
TEXTS = {
    "en": "Your check-up is due. Press 1 to book.",
    "pl": "Czas na wizytę kontrolną. Naciśnij 1.",
    "ru": "Пора на контрольный осмотр. Нажмите 1.",
    "sv": "Dags för återbesök. Tryck 1 för att boka.",
    "zh": "您该复查了。请按1预约。",
}
ACTION = "https://clinic.example.org/webhooks/twilio/voice/gather?attempt=7&lang=sv"
REPEAT = "https://clinic.example.org/webhooks/twilio/voice/repeat?attempt=7"


def parse(twiml: str) -> ET.Element:
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(twiml.encode("utf-8"))
    assert root.tag == "Response"
    return root


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_reminder_call_gathers_one_key_and_speaks_in_the_patients_language(language: str) -> None:
    root = parse(reminder_call_twiml(TEXTS[language], language, action_url=ACTION, repeat_url=REPEAT))

    gather = root[0]
    assert gather.tag == "Gather"
    assert gather.attrib == {"numDigits": "1", "action": ACTION, "method": "POST"}
    [say] = list(gather)
    assert say.tag == "Say" and say.text == TEXTS[language]
    assert say.attrib["language"] == LANGUAGES[language]
    assert say.attrib["voice"] == VOICES[language].voice and say.attrib["voice"].startswith("Polly.")


def test_without_a_key_press_the_call_is_redirected_to_repeat_once() -> None:
    root = parse(reminder_call_twiml(TEXTS["en"], "en", action_url=ACTION, repeat_url=REPEAT))

    assert [child.tag for child in root] == ["Gather", "Redirect"]
    assert root[1].text == REPEAT and root[1].attrib == {"method": "POST"}


def test_the_repeated_message_hangs_up_when_there_is_still_no_key_press() -> None:
    root = parse(reminder_call_twiml(TEXTS["en"], "en", action_url=ACTION, repeat_url=None))

    assert [child.tag for child in root] == ["Gather", "Hangup"]


def test_text_and_urls_are_escaped_not_injected() -> None:
    text = 'Dr <Smith> & "Jones" </Say><Hangup/>'

    root = parse(reminder_call_twiml(text, "en", action_url=ACTION, repeat_url=REPEAT))

    assert root[0][0].text == text
    assert [child.tag for child in root] == ["Gather", "Redirect"]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_say_and_hangup_speaks_then_ends_the_call(language: str) -> None:
    root = parse(say_and_hangup(TEXTS[language], language))

    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root[0].text == TEXTS[language] and root[0].attrib["language"] == LANGUAGES[language]


def test_an_unknown_language_is_refused_rather_than_read_in_the_wrong_voice() -> None:
    with pytest.raises(ValueError, match="de"):
        say_and_hangup("Hallo", "de")
