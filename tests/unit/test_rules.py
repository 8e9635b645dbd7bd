"""The rules on their own: no database, no Flask, no network."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from recall.clinic.clinics import Clinic
from recall.common.actors import Actor, Role
from recall.common.errors import Forbidden, ValidationError
from recall.common.phones import to_e164, validate_region
from recall.common.timeutil import at_local, format_hhmm, local_day, month_range, parse_hhmm, validate_zone
from recall.credit.payplan import PlanTerms
from recall.queue.tasks import due_at_for
from recall.visits.booking import ACTIVE, CHANNEL_ROLE, TRANSITIONS, BookingStatus, Channel
from recall.visits.bookings import credit_target

UTC = UTC


def clinic(**kw) -> Clinic:
    data = dict(
        id=1,
        name="c",
        timezone="Europe/Stockholm",
        phone_region="SE",
        currency="SEK",
        recall_cooling_off_hours=72,
        calling_weekday_start=9 * 60,
        calling_weekday_end=20 * 60,
        calling_weekend_start=10 * 60,
        calling_weekend_end=16 * 60,
    )
    return Clinic(**{**data, **kw})


class TestChannels:
    def test_in_person_is_the_front_desks_remote_is_the_operators_automated_is_nobodys(self):
        assert CHANNEL_ROLE == {
            Channel.IN_PERSON: Role.FRONTDESK,
            Channel.PHONE: Role.OPERATOR,
            Channel.CHAT: Role.OPERATOR,
            Channel.SMS: Role.OPERATOR,
            Channel.VOICE_REPLY: None,
            Channel.ONLINE: None,
        }

    @pytest.mark.parametrize(
        "role,channel",
        [
            (Role.FRONTDESK, Channel.IN_PERSON),
            (Role.OPERATOR, Channel.PHONE),
            (Role.OPERATOR, Channel.CHAT),
            (Role.OPERATOR, Channel.SMS),
        ],
    )
    def test_staff_earn_the_bookings_of_their_own_territory(self, role, channel):
        actor = Actor(staff_id=7, clinic_id=1, role=role)
        assert credit_target(None, actor, channel, None) == (role, 7)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "role,channel",
        [
            (Role.FRONTDESK, Channel.PHONE),
            (Role.FRONTDESK, Channel.CHAT),
            (Role.OPERATOR, Channel.IN_PERSON),
            (Role.OPERATOR, Channel.VOICE_REPLY),
            (Role.FRONTDESK, Channel.ONLINE),
        ],
    )
    def test_staff_cannot_record_bookings_outside_their_territory(self, role, channel):
        with pytest.raises(Forbidden):
            credit_target(None, Actor(staff_id=7, clinic_id=1, role=role), channel, None)  # type: ignore[arg-type]

    def test_only_a_manager_books_on_behalf_of_someone_else(self):
        with pytest.raises(Forbidden):
            credit_target(None, Actor(7, 1, Role.OPERATOR), Channel.PHONE, 8)  # type: ignore[arg-type]

    def test_a_managers_own_booking_earns_nobody(self):
        assert credit_target(None, Actor(7, 1, Role.MANAGER), Channel.PHONE, None) == (None, None)  # type: ignore[arg-type]


class TestTransitions:
    def test_outcomes_are_final(self):
        for final in (BookingStatus.CANCELLED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW):
            assert TRANSITIONS[final] == frozenset()

    def test_an_active_booking_can_reach_every_outcome(self):
        for status in ACTIVE:
            assert {BookingStatus.CANCELLED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW} <= TRANSITIONS[status]


class TestPayPlan:
    def test_a_recall_booking_is_worth_the_multiplier_more(self):
        terms = PlanTerms(1000, 2000, Decimal("1.5"))
        assert terms.amount(Role.OPERATOR, None, is_recall=False) == 2000
        assert terms.amount(Role.OPERATOR, None, is_recall=True) == 3000
        assert terms.amount(Role.FRONTDESK, None, is_recall=False) == 1000

    def test_a_service_rate_replaces_the_base_for_its_role_only(self):
        terms = PlanTerms(1000, 2000, Decimal("1.25"), {(5, Role.FRONTDESK): 1500})
        assert terms.amount(Role.FRONTDESK, 5, is_recall=False) == 1500
        assert terms.amount(Role.OPERATOR, 5, is_recall=True) == 2500

    @pytest.mark.parametrize(
        "kw,field",
        [
            ({"recall_multiplier": Decimal("0.9")}, "recall_multiplier"),
            ({"recall_multiplier": Decimal("1.0001")}, "recall_multiplier"),
            ({"operator_base_cents": -1}, "operator_base_cents"),
        ],
    )
    def test_an_impossible_plan_is_refused_naming_the_field(self, kw, field):
        data = {"frontdesk_base_cents": 1, "operator_base_cents": 1, "recall_multiplier": Decimal("1.5"), **kw}
        with pytest.raises(ValidationError) as err:
            PlanTerms(**data)
        assert field in err.value.fields


class TestRecallDue:
    def test_due_at_the_first_calling_minute_of_the_recommended_local_day(self):
        now = datetime(2026, 3, 2, 8, tzinfo=UTC)
        assert due_at_for(clinic(), date(2026, 3, 20), now) == datetime(2026, 3, 20, 8, tzinfo=UTC)  # 09:00 CET

    def test_across_the_spring_dst_change_the_local_hour_holds(self):
        now = datetime(2026, 3, 2, 8, tzinfo=UTC)
        # Sweden moves to summer time on 29 March 2026: 09:00 local is 07:00 UTC afterwards.
        assert due_at_for(clinic(), date(2026, 3, 30), now) == datetime(2026, 3, 30, 7, tzinfo=UTC)

    def test_across_the_autumn_dst_change_in_another_zone(self):
        c = clinic(timezone="America/New_York", calling_weekday_start=8 * 60)
        now = datetime(2026, 10, 1, 12, tzinfo=UTC)
        # New York leaves daylight time on 1 November 2026: 08:00 is 12:00 UTC before, 13:00 UTC after.
        assert due_at_for(c, date(2026, 10, 30), now) == datetime(2026, 10, 30, 12, tzinfo=UTC)
        assert due_at_for(c, date(2026, 11, 2), now) == datetime(2026, 11, 2, 13, tzinfo=UTC)

    def test_never_before_the_cooling_off_delay(self):
        now = datetime(2026, 3, 2, 8, tzinfo=UTC)
        assert due_at_for(clinic(recall_cooling_off_hours=96), date(2026, 3, 3), now) == now + timedelta(hours=96)

    def test_without_a_date_the_task_is_due_once_cooling_off_ends(self):
        now = datetime(2026, 3, 2, 8, tzinfo=UTC)
        assert due_at_for(clinic(), None, now) == now + timedelta(hours=72)


class TestTimeAndPhones:
    def test_a_local_day_follows_the_zone_not_utc(self):
        assert local_day(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "Europe/Stockholm") == date(2026, 4, 1)
        assert local_day(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "Asia/Shanghai") == date(2026, 4, 1)
        assert local_day(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "America/New_York") == date(2026, 3, 31)

    def test_a_missing_wall_time_on_spring_forward_resolves_forward(self):
        assert at_local(date(2026, 3, 29), 2 * 60 + 30, "Europe/Stockholm") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    def test_months_end_where_they_should(self):
        assert month_range(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
        assert month_range(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))

    @pytest.mark.parametrize("raw,expected", [("09:30", 570), ("00:00", 0), ("24:00", 1440)])
    def test_calling_hours_read_as_minutes(self, raw, expected):
        assert parse_hhmm(raw, "f") == expected and format_hhmm(expected) == raw

    @pytest.mark.parametrize("raw", ["9", "25:00", "12:60", "ab:cd", "24:30"])
    def test_a_bad_time_of_day_names_its_field(self, raw):
        with pytest.raises(ValidationError) as err:
            parse_hhmm(raw, "calling_weekday_end")
        assert "calling_weekday_end" in err.value.fields

    @pytest.mark.parametrize(
        "raw,region,e164",
        [
            ("070-123 45 67", "SE", "+46701234567"),
            ("512 345 678", "PL", "+48512345678"),
            ("+7 912 345-67-89", "SE", "+79123456789"),
            ("+86 138 0013 8000", "PL", "+8613800138000"),
            ("8 (912) 345-67-89", "RU", "+79123456789"),
            ("+44 7911 123456", "SE", "+447911123456"),
        ],
    )
    def test_phones_become_e164_against_the_clinics_region(self, raw, region, e164):
        assert to_e164(raw, region) == e164

    @pytest.mark.parametrize("raw", ["12", "070-123", "not a phone", "+999 123 456 789", ""])
    def test_an_invalid_phone_is_a_validation_error_on_the_phone_field(self, raw):
        with pytest.raises(ValidationError) as err:
            to_e164(raw, "SE")
        assert list(err.value.fields) == ["phone"]

    def test_zones_and_regions_are_checked(self):
        assert validate_zone("Asia/Shanghai") == "Asia/Shanghai"
        assert validate_region("pl") == "PL"
        for bad in ("Mars/Olympus", "CET+1", ""):
            with pytest.raises(ValidationError):
                validate_zone(bad)
        with pytest.raises(ValidationError):
            validate_region("XX")
