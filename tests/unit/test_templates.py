"""Reminder templates: safe placeholders, Babel rendering across DST, SMS segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recall.clinic.patients import Language
from recall.common.errors import ValidationError
from recall.reminders.templates import (
    DEFAULT_TEMPLATES,
    LONG_CLINIC_NAMES,
    LONG_PROVIDER_NAMES,
    SegmentInfo,
    check_template,
    render,
    segments,
    validate_template,
    worst_case_segments,
)

UTC = UTC
EN, PL, RU, SV, ZH = Language.EN, Language.PL, Language.RU, Language.SV, Language.ZH
SMS = DEFAULT_TEMPLATES["sms"]
VOICE = DEFAULT_TEMPLATES["voice"]
# Europe changes to summer time on Sunday 2026-03-29; the US on Sunday 2026-03-08.
AFTER_EU_DST = datetime(2026, 3, 30, 7, 15, tzinfo=UTC)  # 09:15 CEST
BEFORE_EU_DST = datetime(2026, 3, 28, 8, 15, tzinfo=UTC)  # 09:15 CET


def sms(
    language: Language, start_at: datetime = AFTER_EU_DST, zone: str = "Europe/Stockholm", clinic: str = "Kliniken"
) -> str:
    return render(SMS[language], language=language, clinic_name=clinic, start_at=start_at, zone=zone)


def problem(text: str, *, allow_provider: bool = False, field: str = "body") -> str:
    with pytest.raises(ValidationError) as caught:
        validate_template(text, allow_provider=allow_provider, field=field)
    assert list(caught.value.fields) == [field]
    return caught.value.message


class TestRendering:
    @pytest.mark.parametrize(
        "language,expected",
        [
            (
                EN,
                "Reminder: your appointment at Kliniken on Monday 30 March at 09:15. Reply 1 to confirm, 2 to cancel.",
            ),
            (PL, "Przypomnienie: Kliniken, poniedziałek, 30 marca o 09:15. Odpisz 1 – potwierdzam, 2 – odwołuję."),
            (RU, "Напоминание: Kliniken, понедельник, 30 марта в 09:15. Ответьте 1 — подтвердить, 2 — отменить."),
            (
                SV,
                "Påminnelse: din tid hos Kliniken måndag 30 mars kl. 09:15. "
                "Svara 1 för att bekräfta, 2 för att avboka.",
            ),
            (ZH, "提醒：您在Kliniken的预约时间为3月30日星期一 09:15。回复1确认，回复2取消。"),
        ],
    )
    def test_the_default_sms_reads_naturally_in_each_language_after_the_eu_dst_change(self, language, expected):
        assert sms(language) == expected

    @pytest.mark.parametrize(
        "language,day",
        [
            (EN, "Saturday 28 March"),
            (PL, "sobota, 28 marca"),
            (RU, "суббота, 28 марта"),
            (SV, "lördag 28 mars"),
            (ZH, "3月28日星期六"),
        ],
    )
    def test_the_local_wall_clock_is_the_same_before_the_eu_dst_change(self, language, day):
        text = sms(language, BEFORE_EU_DST)
        assert day in text and "09:15" in text

    def test_the_utc_offset_is_taken_from_the_date_not_from_today(self):
        assert "08:15" in sms(SV, datetime(2026, 3, 30, 6, 15, tzinfo=UTC))
        assert "07:15" in sms(SV, datetime(2026, 3, 28, 6, 15, tzinfo=UTC))

    @pytest.mark.parametrize(
        "start_at,when",
        [
            (datetime(2026, 3, 6, 14, 15, tzinfo=UTC), "on Friday, March 6 at 9:15 AM."),  # EST, UTC-5
            (datetime(2026, 3, 9, 13, 15, tzinfo=UTC), "on Monday, March 9 at 9:15 AM."),  # EDT, UTC-4
            (datetime(2026, 11, 2, 14, 15, tzinfo=UTC), "on Monday, November 2 at 9:15 AM."),  # EST again
            (datetime(2026, 3, 10, 1, 30, tzinfo=UTC), "on Monday, March 9 at 9:30 PM."),  # UTC is already Tuesday
        ],
    )
    def test_american_zones_get_us_english_across_their_dst_changes(self, start_at, when):
        assert when in sms(EN, start_at, "America/New_York")

    def test_a_us_time_uses_a_plain_space_so_the_sms_stays_gsm_7(self):
        text = sms(EN, datetime(2026, 3, 9, 13, 15, tzinfo=UTC), "America/New_York")
        assert "\u202f" not in text
        assert segments(text).encoding == "GSM-7"

    def test_a_chinese_speaking_patient_in_shanghai_gets_shanghai_time(self):
        assert "3月30日星期一 15:15" in sms(ZH, zone="Asia/Shanghai")

    def test_the_voice_text_ends_with_the_keypad_choices(self):
        text = render(VOICE[EN], language=EN, clinic_name="Kliniken", start_at=AFTER_EU_DST, zone="Europe/London")
        assert text == (
            "Hello. This is a reminder from Kliniken about your appointment on Monday 30 March at 08:15. "
            "To confirm, press 1. To cancel, press 2. To speak with someone, press 3."
        )

    def test_a_provider_is_named_only_where_the_clinic_allows_it(self):
        text = render(
            "{clinic}: {provider}, {date} {time}",
            language=EN,
            clinic_name="Kliniken",
            start_at=AFTER_EU_DST,
            zone="Europe/Stockholm",
            provider_name="Dr Berg",
            allow_provider=True,
        )
        assert text == "Kliniken: Dr Berg, Monday 30 March 09:15"
        with pytest.raises(ValidationError, match=r"\{provider\} is not allowed"):
            render(
                "{provider}",
                language=EN,
                clinic_name="K",
                start_at=AFTER_EU_DST,
                zone="Europe/Stockholm",
                provider_name="Dr Berg",
                allow_provider=False,
            )

    def test_a_template_naming_the_provider_needs_a_provider(self):
        with pytest.raises(ValidationError) as caught:
            render(
                "{provider} {date}",
                language=EN,
                clinic_name="K",
                start_at=AFTER_EU_DST,
                zone="Europe/Stockholm",
                provider_name=None,
                allow_provider=True,
            )
        assert "provider_name" in caught.value.fields

    def test_braces_in_a_clinic_name_are_printed_not_interpreted(self):
        text = sms(EN, clinic="{provider} {date.__class__}")
        assert "at {provider} {date.__class__} on Monday 30 March" in text

    def test_a_clinic_name_cannot_smuggle_a_line_break_or_control_character(self):
        assert "at Dental Care on" in sms(EN, clinic=" Dental\n\x00Care ")

    def test_a_naive_start_time_is_a_programming_error(self):
        with pytest.raises(ValueError, match="aware"):
            sms(EN, datetime(2026, 3, 30, 9, 15))

    def test_an_unknown_zone_is_rejected_naming_the_field(self):
        with pytest.raises(ValidationError) as caught:
            sms(EN, zone="Mars/Olympus_Mons")
        assert "timezone" in caught.value.fields

    def test_rendering_refuses_an_unsafe_template(self):
        with pytest.raises(ValidationError, match="format, conversion"):
            render(
                "{clinic.__init__.__globals__}",
                language=EN,
                clinic_name="K",
                start_at=AFTER_EU_DST,
                zone="Europe/Stockholm",
            )


class TestValidation:
    @pytest.mark.parametrize(
        "text",
        [
            "{clinic.__class__}",
            "{clinic.__init__.__globals__}",
            "{date!r}",
            "{time:>10}",
            "{clinic[0]}",
            "{date!s:^20}",
        ],
    )
    def test_format_specs_conversions_and_attribute_access_are_rejected(self, text):
        assert "may not carry a format, conversion, attribute or index" in problem(text)

    @pytest.mark.parametrize(
        "text,shown",
        [
            ("{service}", "{service}"),
            ("{diagnosis}", "{diagnosis}"),
            ("{0}", "{0}"),
            ("{}", "{}"),
            ("{ date }", "{ date }"),
            ("{Date}", "{Date}"),
            ("{patient.name}", "{patient.name}"),
        ],
    )
    def test_an_unknown_placeholder_is_named(self, text, shown):
        message = problem(f"Visit {text} at {{time}}")
        assert f"unknown placeholder {shown}" in message
        assert "allowed: {clinic}, {date}, {time}" in message and "{provider}" not in message

    @pytest.mark.parametrize("text", ["{date", "date}", "{{date}}", "at {time} }", "{clinic {date}"])
    def test_unbalanced_braces_are_rejected(self, text):
        assert "unbalanced braces" in problem(text)

    def test_the_provider_placeholder_needs_the_clinics_permission(self):
        assert "{provider} is not allowed" in problem("{provider} on {date}")
        assert validate_template("{provider} on {date}", allow_provider=True) == "{provider} on {date}"

    @pytest.mark.parametrize("text", ["", "   ", "\n"])
    def test_an_empty_template_is_rejected(self, text):
        assert problem(text) == "must not be empty"

    def test_1600_characters_is_the_limit(self):
        assert validate_template("a" * 1600, allow_provider=False)
        assert "1601 characters long; the limit is 1600" in problem("a" * 1601)

    @pytest.mark.parametrize(
        "char,code", [("\x00", "U+0000"), ("\r", "U+000D"), ("\t", "U+0009"), ("\x1b", "U+001B"), ("\u202e", "U+202E")]
    )
    def test_control_characters_other_than_newline_are_rejected(self, char, code):
        assert f"contains control characters: {code}" in problem(f"On {{date}}{char} at {{time}}")

    def test_a_newline_is_welcome(self):
        assert validate_template("{clinic}\n{date} {time}", allow_provider=False)

    def test_every_problem_is_reported_at_once(self):
        message = problem("{service} {date!r} {provider} {", field="sms_template")
        for part in (
            "unknown placeholder {service}",
            "{date!r} may not carry",
            "{provider} is not allowed",
            "unbalanced braces",
        ):
            assert part in message


class TestSegments:
    @pytest.mark.parametrize(
        "length,units,count", [(159, 159, 1), (160, 160, 1), (161, 161, 2), (306, 306, 2), (307, 307, 3)]
    )
    def test_gsm_7_holds_160_alone_and_153_per_part(self, length, units, count):
        assert segments("a" * length) == SegmentInfo("GSM-7", units, count)

    @pytest.mark.parametrize("length,count", [(70, 1), (71, 2), (134, 2), (135, 3)])
    def test_ucs_2_holds_70_alone_and_67_per_part(self, length, count):
        assert segments("ж" * length) == SegmentInfo("UCS-2", length, count)

    def test_extension_characters_cost_two_septets(self):
        assert segments("€" * 80) == SegmentInfo("GSM-7", 160, 1)
        assert segments("a" + "{}[]~\\|^€" * 5) == SegmentInfo("GSM-7", 91, 1)
        assert segments("a" + "€" * 80) == SegmentInfo("GSM-7", 161, 2)

    def test_an_escape_sequence_is_never_split_between_parts(self):
        text = "a" * 152 + "{" + "a" * 152  # 306 septets, but "{" cannot straddle parts one and two
        assert segments(text) == SegmentInfo("GSM-7", 306, 3)

    def test_an_emoji_counts_two_utf_16_units_and_is_never_split(self):
        assert segments("😀") == SegmentInfo("UCS-2", 2, 1)
        assert segments("a" * 68 + "😀") == SegmentInfo("UCS-2", 70, 1)
        assert segments("a" * 69 + "😀") == SegmentInfo("UCS-2", 71, 2)
        assert segments("a" * 66 + "😀" + "a" * 66) == SegmentInfo("UCS-2", 134, 3)

    def test_one_polish_diacritic_forces_ucs_2(self):
        assert segments("a" * 100) == SegmentInfo("GSM-7", 100, 1)
        assert segments("a" * 99 + "ł") == SegmentInfo("UCS-2", 100, 2)
        assert segments("Zażółć gęślą jaźń").encoding == "UCS-2"

    def test_swedish_letters_and_other_basic_characters_are_gsm_7(self):
        assert segments("Påminnelse: ÅÄÖåäö éÉüÜñÑ ß £$¥@ §¿¡ ΔΩ").encoding == "GSM-7"

    def test_a_curly_quote_forces_ucs_2(self):
        assert segments("It’s tomorrow") == SegmentInfo("UCS-2", 13, 1)

    def test_an_empty_body_still_costs_one_segment(self):
        assert segments("") == SegmentInfo("GSM-7", 0, 1)


class TestManagerWarnings:
    @pytest.mark.parametrize("language", [EN, RU, SV, ZH])
    def test_the_defaults_draw_no_warning(self, language):
        assert check_template(SMS[language], language=language, allow_provider=False) == []

    def test_the_polish_default_only_notes_its_diacritics(self):
        (warning,) = check_template(SMS[PL], language=PL, allow_provider=False)
        assert "'ł'" in warning and "'ę'" in warning and "force UCS-2" in warning
        assert "Polish diacritics" in warning

    def test_a_stray_curly_quote_in_english_is_named_with_its_replacement(self):
        (warning,) = check_template("It’s {clinic} on {date} at {time}.", language=EN, allow_provider=False)
        assert warning.startswith("character '’' (use ''') forces UCS-2 encoding")

    def test_one_polish_letter_in_an_ascii_template_is_named(self):
        text = "Przypomnienie: {clinic}, {date} o {time}. Odpisz 1 lub 2. Dziękujemy"
        warnings = check_template(text, language=PL, allow_provider=False)
        assert any(w.startswith("character 'ę' forces UCS-2") for w in warnings)

    def test_cyrillic_in_a_russian_template_is_not_a_stray(self):
        assert check_template("Запись: {clinic}, {date} в {time}.", language=RU, allow_provider=False) == []

    def test_a_long_template_warns_of_its_worst_case_segments(self):
        # 36 literal + 40 clinic + "Wednesday, September 30" + "12:45 PM" = 107 septets, then padding
        text = "Hello from {clinic}! Your visit is on {date} at {time}. "
        assert check_template(text + "a" * 199, language=EN, allow_provider=False) == []
        (warning,) = check_template(text + "a" * 200, language=EN, allow_provider=False)
        assert warning == (
            "renders to 3 segments (encoding GSM-7); more than 2 segments costs more and may arrive split"
        )

    def test_the_worst_case_takes_the_longest_date_of_the_year(self):
        assert worst_case_segments("{date}", language=EN).units == len("Wednesday, September 30")
        assert worst_case_segments("{date}", language=PL).units == len("poniedziałek, 12 października")
        assert worst_case_segments("{time}", language=EN).units == len("12:45 PM")

    def test_the_worst_case_counts_a_40_character_clinic_and_provider(self):
        assert worst_case_segments("{clinic}", language=SV) == SegmentInfo("GSM-7", 40, 1)
        assert worst_case_segments("{clinic} {provider}", language=SV).units == 81

    def test_a_template_without_the_date_or_time_is_flagged(self):
        assert check_template("See you at {clinic}", language=EN, allow_provider=False) == [
            "does not mention the {date} of the appointment",
            "does not mention the {time} of the appointment",
        ]

    def test_checking_an_invalid_template_raises_naming_the_field(self):
        with pytest.raises(ValidationError) as caught:
            check_template("{diagnosis}", language=EN, allow_provider=False, field="sms_template")
        assert "sms_template" in caught.value.fields


class TestDefaults:
    def test_every_channel_has_a_text_in_every_language(self):
        assert set(DEFAULT_TEMPLATES) == {"sms", "voice"}
        assert all(set(texts) == set(Language) for texts in DEFAULT_TEMPLATES.values())

    @pytest.mark.parametrize("channel", ["sms", "voice"])
    @pytest.mark.parametrize("language", list(Language))
    def test_each_default_validates_and_names_clinic_date_and_time_only(self, channel, language):
        text = DEFAULT_TEMPLATES[channel][language]
        validate_template(text, allow_provider=False)
        for name in ("{clinic}", "{date}", "{time}"):
            assert text.count(name) == 1

    @pytest.mark.parametrize("language", list(Language))
    def test_the_worst_case_names_are_40_characters(self, language):
        assert len(LONG_CLINIC_NAMES[language]) == 40 and len(LONG_PROVIDER_NAMES[language]) == 40

    @pytest.mark.parametrize("language", list(Language))
    def test_each_default_sms_fits_two_segments_on_every_day_with_a_long_clinic_name(self, language):
        start, clinic = datetime(2026, 1, 1, 11, 45, tzinfo=UTC), LONG_CLINIC_NAMES[language]
        for zone in ("Europe/Warsaw", "America/New_York"):
            for n in range(365):
                text = sms(language, start + timedelta(days=n), zone, clinic)
                assert segments(text).segments <= 2, text
        assert worst_case_segments(SMS[language], language=language).segments <= 2

    def test_the_default_sms_segment_counts_are_as_documented(self):
        counts = {lang.value: worst_case_segments(SMS[lang], language=lang) for lang in Language}
        assert {k: (v.encoding, v.segments) for k, v in counts.items()} == {
            "en": ("GSM-7", 1),
            "pl": ("UCS-2", 2),
            "ru": ("UCS-2", 2),
            "sv": ("GSM-7", 1),
            "zh": ("UCS-2", 2),
        }

    @pytest.mark.parametrize("language", list(Language))
    def test_each_voice_text_ends_with_the_keypad_instructions(self, language):
        text = VOICE[language]
        last_one, last_two, last_three = (text.rfind(d) for d in "123")
        assert text.index("{time}") < last_one < last_two < last_three
        assert text.rstrip("。.!").endswith("3")

    def test_no_default_mentions_a_service_or_diagnosis(self):
        for texts in DEFAULT_TEMPLATES.values():
            for text in texts.values():
                assert "{provider}" not in text and "{service}" not in text
