"""Inbound SMS replies: Twilio's keywords first, then digits, then words in any language."""

from __future__ import annotations

import pytest

from recall.clinic.patients import Language
from recall.reminders.replies import TWILIO_OPT_IN, TWILIO_OPT_OUT, WORDS, Intent, Reply, classify, fold, normalize

EN, PL, RU, SV, ZH = Language.EN, Language.PL, Language.RU, Language.SV, Language.ZH
CONFIRM, CANCEL, OPT_OUT, OPT_IN, RESCHEDULE = (
    Intent.CONFIRM,
    Intent.CANCEL,
    Intent.OPT_OUT,
    Intent.OPT_IN,
    Intent.RESCHEDULE,
)


def intent(body: str, language: Language | None = None) -> Intent:
    return classify(body, language).intent


class TestTwilioKeywords:
    @pytest.mark.parametrize(
        "body",
        [
            "STOP",
            "stop",
            "Stop",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "cancel",
            "END",
            "QUIT",
            "REVOKE",
            "OPTOUT",
            "  stop  ",
            "Stop!",
            "ＳＴＯＰ",
        ],
    )
    def test_twilios_opt_out_words_opt_out_in_every_language(self, body):
        for language in [*Language, None]:
            assert intent(body, language) is OPT_OUT

    @pytest.mark.parametrize("body", ["START", "start", "UNSTOP", "YES", "yes", "Yes."])
    def test_twilios_opt_in_words_opt_in(self, body):
        for language in [*Language, None]:
            assert intent(body, language) is OPT_IN

    def test_yes_is_an_opt_in_not_a_confirmation_because_twilio_treats_it_so(self):
        assert intent("YES", EN) is OPT_IN

    def test_cancel_alone_is_an_opt_out_because_twilio_blocks_the_sender(self):
        assert intent("Cancel", EN) is OPT_OUT

    @pytest.mark.parametrize(
        "body",
        [
            "stop please",
            "please stop calling me on Mondays",
            "STOP ALL",
            "can I cancel and come next week?",
            "yes I will come",
            "the end",
        ],
    )
    def test_a_keyword_inside_a_longer_message_is_text_for_an_operator(self, body):
        reply = classify(body, EN)
        assert reply == Reply(RESCHEDULE, body)

    def test_the_lists_follow_twilios_documentation(self):
        assert TWILIO_OPT_OUT == {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
        assert TWILIO_OPT_IN == {"start", "unstop", "yes"}


class TestDigitsAndLetters:
    @pytest.mark.parametrize("body", ["1", " 1 ", "1.", "1!", "１", "(1)", "#1", "C", "c", "c."])
    def test_one_and_c_confirm_whatever_the_language(self, body):
        for language in [*Language, None]:
            assert intent(body, language) is CONFIRM

    @pytest.mark.parametrize("body", ["2", "2 ", "２", "2."])
    def test_two_cancels_whatever_the_language(self, body):
        for language in [*Language, None]:
            assert intent(body, language) is CANCEL

    def test_digits_of_other_scripts_count(self):
        assert intent("١") is CONFIRM  # Arabic-Indic one
        assert intent("२") is CANCEL  # Devanagari two

    @pytest.mark.parametrize("body", ["3", "12", "1 2", "0", "11"])
    def test_other_numbers_go_to_an_operator(self, body):
        assert intent(body, EN) is RESCHEDULE


class TestLocalizedWords:
    @pytest.mark.parametrize(
        "language,body,expected",
        [
            (EN, "confirm", CONFIRM),
            (EN, "Confirmed!", CONFIRM),
            (EN, "OK", CONFIRM),
            (EN, "okay", CONFIRM),
            (EN, "cancel appointment", CANCEL),
            (EN, "Cancel my appointment.", CANCEL),
            (PL, "Tak", CONFIRM),
            (PL, "potwierdzam", CONFIRM),
            (PL, "Potwierdzam wizytę.", CONFIRM),
            (PL, "przyjdę", CONFIRM),
            (PL, "anuluj", CANCEL),
            (PL, "Odwołuję", CANCEL),
            (PL, "odwoluje", CANCEL),
            (PL, "rezygnuje", CANCEL),
            (PL, "ODWOŁUJĘ!", CANCEL),
            (RU, "да", CONFIRM),
            (RU, "Да!", CONFIRM),
            (RU, "подтверждаю", CONFIRM),
            (RU, "ок", CONFIRM),
            (RU, "отмена", CANCEL),
            (RU, "Отменить", CANCEL),
            (RU, "отменить запись", CANCEL),
            (RU, "стоп", OPT_OUT),
            (RU, "СТОП", OPT_OUT),
            (SV, "ja", CONFIRM),
            (SV, "Ja!", CONFIRM),
            (SV, "bekräftar", CONFIRM),
            (SV, "bekraftar", CONFIRM),
            (SV, "avboka", CANCEL),
            (SV, "Avbokar.", CANCEL),
            (SV, "stopp", OPT_OUT),
            (ZH, "确认", CONFIRM),
            (ZH, "確認", CONFIRM),
            (ZH, "是", CONFIRM),
            (ZH, "好的。", CONFIRM),
            (ZH, "取消", CANCEL),
            (ZH, "取消预约！", CANCEL),
            (ZH, "退订", OPT_OUT),
            (ZH, "TD", OPT_OUT),
        ],
    )
    def test_each_language_has_its_own_words(self, language, body, expected):
        assert classify(body, language) == Reply(expected, body)

    @pytest.mark.parametrize(
        "body,expected",
        [("tak", CONFIRM), ("да", CONFIRM), ("avboka", CANCEL), ("取消", CANCEL), ("potwierdzam", CONFIRM)],
    )
    def test_a_patient_may_answer_in_another_language_than_the_one_on_file(self, body, expected):
        assert intent(body, EN) is expected
        assert intent(body, None) is expected

    def test_the_language_may_be_given_as_its_code(self):
        assert intent("tak", "pl") is CONFIRM  # type: ignore[arg-type]

    def test_the_russian_yo_and_its_plain_e_are_the_same_letter(self):
        assert normalize("ОТМЕНЁН") == normalize("отменен")

    def test_no_word_has_two_meanings_across_the_tables(self):
        meaning: dict[str, Intent] = {}
        for table in WORDS.values():
            for kind, words in table.items():
                for word in words:
                    key = fold(word)
                    assert meaning.setdefault(key, kind) is kind, word

    def test_no_local_word_is_a_twilio_keyword(self):
        local = {normalize(w) for table in WORDS.values() for words in table.values() for w in words}
        assert not local & (TWILIO_OPT_OUT | TWILIO_OPT_IN)

    def test_every_word_in_the_tables_survives_normalization(self):
        for language, table in WORDS.items():
            for kind, words in table.items():
                for word in words:
                    assert intent(word, language) is kind, word


class TestEverythingElse:
    @pytest.mark.parametrize(
        "body",
        [
            "Can we move it to Thursday?",
            "Mogę przełożyć na piątek?",
            "Можно перенести на завтра?",
            "Kan vi flytta tiden?",
            "可以改到明天吗？",
            "HELP",
            "info",
            "👍",
            "",
        ],
    )
    def test_anything_else_is_a_reschedule_text_for_an_operator(self, body):
        reply = classify(body, None)
        assert reply.intent is RESCHEDULE and reply.text == body

    def test_the_text_keeps_the_patients_words_trimmed_of_surrounding_space(self):
        assert classify("  Can we move it?\n", EN) == Reply(RESCHEDULE, "Can we move it?")
        assert classify(" Confirm! ", EN) == Reply(CONFIRM, "Confirm!")

    def test_a_missing_body_is_an_empty_text(self):
        assert classify(None, EN) == Reply(RESCHEDULE, "")  # type: ignore[arg-type]

    def test_intents_compare_equal_to_their_names(self):
        assert [i.value for i in Intent] == ["confirm", "cancel", "opt_out", "opt_in", "reschedule"]
        assert Intent.CONFIRM == "confirm"

    def test_normalization_squeezes_inner_space_and_folds_width_and_case(self):
        assert normalize("  Cancel \t My   Appointment!! ") == "cancel my appointment"
        assert normalize("ＯＫ") == "ok"
