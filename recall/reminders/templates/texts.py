"""The built-in reminder texts, and the limits every template keeps.

A clinic's policy may replace any of these per channel and language; a language it leaves out uses the
built-in text, which always renders (it names no provider).
"""

from __future__ import annotations

from recall.clinic.patients import Language

PLACEHOLDERS = ("clinic", "date", "time", "provider")
MAX_TEMPLATE_CHARS = 1600  # Twilio's limit for one message body
MAX_SEGMENTS = 2

SMS, VOICE = "sms", "voice"

DEFAULT_TEMPLATES: dict[str, dict[Language, str]] = {
    SMS: {
        Language.EN: "Reminder: your appointment at {clinic} on {date} at {time}. Reply 1 to confirm, 2 to cancel.",
        Language.PL: "Przypomnienie: {clinic}, {date} o {time}. Odpisz 1 – potwierdzam, 2 – odwołuję.",
        Language.RU: "Напоминание: {clinic}, {date} в {time}. Ответьте 1 — подтвердить, 2 — отменить.",
        Language.SV: "Påminnelse: din tid hos {clinic} {date} kl. {time}. Svara 1 för att bekräfta, 2 för att avboka.",
        Language.ZH: "提醒：您在{clinic}的预约时间为{date} {time}。回复1确认，回复2取消。",
    },
    VOICE: {
        Language.EN: "Hello. This is a reminder from {clinic} about your appointment on {date} at {time}. "
        "To confirm, press 1. To cancel, press 2. To speak with someone, press 3.",
        Language.PL: "Dzień dobry, tu {clinic}. Przypominamy o wizycie: {date}, godzina {time}. "
        "Aby potwierdzić, naciśnij 1. Aby odwołać, naciśnij 2. "
        "Aby porozmawiać z nami, naciśnij 3.",
        Language.RU: "Здравствуйте! Это {clinic}. Напоминаем о вашей записи: {date} в {time}. "
        "Чтобы подтвердить, нажмите 1. Чтобы отменить, нажмите 2. "
        "Чтобы поговорить с сотрудником, нажмите 3.",
        Language.SV: "Hej! Det här är en påminnelse från {clinic} om din tid {date} klockan {time}. "
        "För att bekräfta, tryck 1. För att avboka, tryck 2. För att prata med oss, tryck 3.",
        Language.ZH: "您好，这里是{clinic}。提醒您，您的预约时间为{date} {time}。确认请按1，取消请按2，人工服务请按3。",
    },
}
