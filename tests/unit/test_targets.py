"""The target in force for a month: start * (1 + rise) ^ months, capped, worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from recall.queue.targets import value_in_force


def test_a_target_rises_by_its_percentage_each_month_compounded():
    values = [value_in_force(40, date(2026, 3, 1), 5, None, date(2026, m, 1)) for m in (3, 4, 5, 6)]
    assert values == pytest.approx([40, 42, 44.1, 46.305])


def test_a_target_stops_rising_at_its_cap():
    values = [value_in_force(40, date(2026, 3, 1), 5, 45, date(2026, m, 1)) for m in (3, 4, 5, 6, 12)]
    assert values == pytest.approx([40, 42, 44.1, 45, 45])


def test_no_target_is_in_force_before_its_start_month():
    assert value_in_force(40, date(2026, 3, 1), 5, None, date(2026, 2, 1)) is None


def test_the_months_count_across_a_new_year_and_any_day_names_its_month():
    assert value_in_force(100, date(2026, 11, 1), 10, None, date(2027, 1, 31)) == pytest.approx(121)


def test_a_target_without_a_rise_stays_where_it_started():
    assert value_in_force(0.3, date(2026, 1, 1), 0, None, date(2030, 1, 1)) == pytest.approx(0.3)
