"""What a patient is told after answering a reminder: the acknowledgements of a key press or an SMS reply.

They are patient-facing texts in the patient's language, kept with the reminder templates, apart from the
code that decides which one applies (``recall.reminders.inbound``), so that all such words are in one place
to read and translate.
A spoken one ends the call, so it closes with the goodbye.
"""

from __future__ import annotations

from dataclasses import dataclass

from recall.clinic.patients import Language

ACKS: dict[str, dict[Language, str]] = {
    "confirmed": {
        Language.EN: "Thank you, your appointment is confirmed.",
        Language.PL: "Dziękujemy, wizyta jest potwierdzona.",
        Language.RU: "Спасибо, ваша запись подтверждена.",
        Language.SV: "Tack, din tid är bekräftad.",
        Language.ZH: "谢谢，您的预约已确认。",
    },
    "cancelled": {
        Language.EN: "Thank you, your appointment is cancelled.",
        Language.PL: "Dziękujemy, wizyta została odwołana.",
        Language.RU: "Спасибо, ваша запись отменена.",
        Language.SV: "Tack, din tid är avbokad.",
        Language.ZH: "谢谢，您的预约已取消。",
    },
    "callback": {
        Language.EN: "Thank you. Someone from the clinic will call you.",
        Language.PL: "Dziękujemy. Ktoś z przychodni do Państwa zadzwoni.",
        Language.RU: "Спасибо. Сотрудник клиники вам перезвонит.",
        Language.SV: "Tack. Någon från kliniken ringer upp dig.",
        Language.ZH: "谢谢，诊所工作人员会给您回电话。",
    },
    "unchanged": {
        Language.EN: "Thank you. This appointment can no longer be changed; please contact the clinic.",
        Language.PL: "Dziękujemy. Tej wizyty nie można już zmienić; prosimy o kontakt z przychodnią.",
        Language.RU: "Спасибо. Эту запись уже нельзя изменить; пожалуйста, свяжитесь с клиникой.",
        Language.SV: "Tack. Den här tiden kan inte längre ändras; kontakta kliniken.",
        Language.ZH: "谢谢。此预约已无法更改，请联系诊所。",
    },
    "goodbye": {
        Language.EN: "Goodbye.",
        Language.PL: "Do widzenia.",
        Language.RU: "До свидания.",
        Language.SV: "Hej då.",
        Language.ZH: "再见。",
    },
}


@dataclass(frozen=True)
class Ack:
    """What to tell the caller after a key press: an ``ACKS`` key (or "repeat") and the patient's language."""

    key: str
    language: str


def ack_text(key: str, language: Language | str, *, spoken: bool = False) -> str:
    """The acknowledgement in the patient's language; a spoken one ends the call with a goodbye."""
    lang = Language(language)
    text = ACKS[key][lang]
    if spoken and key != "goodbye":
        text += ("" if lang is Language.ZH else " ") + ACKS["goodbye"][lang]
    return text
