"""What a patient meant by an SMS reply to a reminder.

Why the rules are what they are:

* Twilio acts on some replies before we see them. On long codes it blocks the
  sender after a whole-message (single word, case-insensitive, trimmed) STOP,
  STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or OPTOUT, and lifts the
  block after START, UNSTOP or YES (a US toll-free number honours only START
  and UNSTOP). Our record must agree with Twilio's, so those words win over
  everything else: ``opt_out`` / ``opt_in``.
* Hence English has no cancel *word*: "cancel" is an opt-out at Twilio, so an
  English patient cancels with "2" (what the reminder asks for), or with a
  phrase Twilio ignores such as "cancel appointment". And "yes" is an opt-in
  at Twilio, so it is not a confirmation; English confirms with "1", "C",
  "confirm", "confirmed", "ok" or "okay".
* Every language confirms with "1" or "C" and cancels with "2", because the
  reminder asks for digits: digits survive any keyboard. Localized words are
  also understood: pl tak/potwierdzam, anuluj/odwołuję; ru да/подтверждаю,
  отмена/отменить; sv ja/bekräftar, avboka; zh 确认/是, 取消. Common
  local opt-out words (ru "стоп", sv "stopp", zh "退订"/"TD") are opt-outs too:
  Twilio does not block them, but we honour them and stop sending, which errs
  on the patient's side.
* A word is looked up in the patient's language first, then in the others
  (patients often answer in another language than the one on file); the tables
  never give one word two meanings, which the tests check.
* Only the whole message is a keyword, as at Twilio: "please stop calling me
  on Mondays" is a text for an operator (``reschedule``), not an opt-out. Before
  matching we apply NFKC (full-width "１" is "1"), fold case, trim whitespace,
  punctuation and symbols at both ends ("Stop!" is STOP; Twilio may not strip
  punctuation, so we may opt out a patient Twilio still delivers to, never the
  reverse), squeeze inner whitespace and ignore diacritics ("odwoluje" is
  "odwołuję", "подтверждаю" matches with or without "ё").
* Anything else, HELP and INFO included (Twilio answers those itself, and a
  patient asking for help deserves a person), is ``reschedule``: work for an
  operator, who reads the text.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from recall.clinic.patients import Language


class Intent(str, enum.Enum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class Reply:
    intent: Intent
    text: str  # the body as received, trimmed of surrounding whitespace


TWILIO_OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
TWILIO_OPT_IN = frozenset({"start", "unstop", "yes"})

_DIGITS = {1: Intent.CONFIRM, 2: Intent.CANCEL}

WORDS: dict[Language, dict[Intent, frozenset[str]]] = {
    Language.EN: {
        Intent.CONFIRM: frozenset({"c", "confirm", "confirmed", "ok", "okay"}),
        Intent.CANCEL: frozenset({"cancel appointment", "cancel my appointment", "cancel the appointment"}),
    },
    Language.PL: {
        Intent.CONFIRM: frozenset({"tak", "potwierdzam", "potwierdzam wizytę", "przyjdę", "ok"}),
        Intent.CANCEL: frozenset({"anuluj", "anuluję", "odwołuję", "odwołaj", "odwołuję wizytę", "rezygnuję"}),
    },
    Language.RU: {
        Intent.CONFIRM: frozenset({"да", "подтверждаю", "подтвердить", "ок", "приду"}),
        Intent.CANCEL: frozenset({"отмена", "отменить", "отменяю", "отменить запись"}),
        Intent.OPT_OUT: frozenset({"стоп", "отписаться"}),
    },
    Language.SV: {
        Intent.CONFIRM: frozenset({"ja", "bekräftar", "bekräfta", "ok", "jag kommer"}),
        Intent.CANCEL: frozenset({"avboka", "avbokar", "avbokning", "avboka tiden"}),
        Intent.OPT_OUT: frozenset({"stopp"}),
    },
    Language.ZH: {
        Intent.CONFIRM: frozenset({"确认", "確認", "是", "是的", "好", "好的", "确定", "確定"}),
        Intent.CANCEL: frozenset({"取消", "取消预约", "取消預約"}),
        Intent.OPT_OUT: frozenset({"退订", "退訂", "td"}),
    },
}


def normalize(body: str) -> str:
    """The matching key: NFKC, case-folded, trimmed, inner spaces squeezed, no diacritics."""
    text = unicodedata.normalize("NFKC", body).casefold()
    start, end = 0, len(text)
    while start < end and _is_trim(text[start]):
        start += 1
    while end > start and _is_trim(text[end - 1]):
        end -= 1
    text = " ".join(text[start:end].split())
    return fold(text)


def fold(word: str) -> str:
    """Drop diacritics so a word typed without them still matches (ł has no decomposition)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().replace("ł", "l"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def classify(body: str, language: Language | None) -> Reply:
    """The intent of an inbound SMS ``body`` from a patient whose language is ``language``."""
    text = (body or "").strip()
    key = normalize(text)
    if key in TWILIO_OPT_OUT:
        return Reply(Intent.OPT_OUT, text)
    if key in TWILIO_OPT_IN:
        return Reply(Intent.OPT_IN, text)
    digit = _single_digit(key)
    if digit in _DIGITS:
        return Reply(_DIGITS[digit], text)
    intent = _lookup(key, Language(language) if language is not None else None)
    return Reply(intent or Intent.RESCHEDULE, text)


def _lookup(key: str, language: Language | None) -> Intent | None:
    order = [language] if language is not None else []
    order += [other for other in Language if other is not language]
    for lang in order:
        for intent, words in _FOLDED[lang].items():
            if key in words:
                return intent
    return None


def _single_digit(key: str) -> int | None:
    """Any script's decimal digit ("1", "١", "१") counts; NFKC already made "１" a "1"."""
    if len(key) != 1:
        return None
    return unicodedata.decimal(key, None)


def _is_trim(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PSZC"


_FOLDED: dict[Language, dict[Intent, frozenset[str]]] = {
    lang: {intent: frozenset(fold(w) for w in words) for intent, words in table.items()}
    for lang, table in WORDS.items()
}
