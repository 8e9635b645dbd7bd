"""The Wilson interval and the two-proportion z-test against values worked out by hand."""

from __future__ import annotations

import pytest

from recall.common.proportions import two_proportion_z, wilson


def test_the_wilson_interval_matches_the_hand_computed_bounds():
    # 2 of 20: centre (0.1 + 1.9208/20) / 1.19207 = 0.16445, half-width 1.96 * 0.083073 / 1.19207 = 0.13659.
    assert wilson(2, 20) == pytest.approx((0.02787, 0.30103), abs=5e-5)
    # 4 of 10: centre 0.42775, half-width 0.25958.
    assert wilson(4, 10) == pytest.approx((0.16818, 0.68733), abs=5e-5)


def test_the_wilson_interval_of_no_events_starts_at_zero_and_is_not_a_point():
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.27753, abs=5e-5)


def test_no_interval_without_bookings():
    assert wilson(0, 0) is None


def test_the_z_test_tells_a_difference_near_the_edge_from_a_clear_one():
    near = two_proportion_z(2, 20, 4, 10)  # pooled 0.2, sd 0.15492: z = -0.3 / 0.15492 = -1.9365
    assert near is not None and near.z == pytest.approx(-1.9365, abs=1e-4)
    assert near.p_value == pytest.approx(0.0528, abs=1e-4) and not near.significant
    clear = two_proportion_z(0, 10, 4, 10)  # pooled 0.2, sd 0.17889: z = -2.2361
    assert clear is not None and clear.p_value == pytest.approx(0.0253, abs=1e-4) and clear.significant


def test_the_z_test_needs_both_groups_and_finds_nothing_in_identical_zero_rates():
    assert two_proportion_z(1, 10, 0, 0) is None
    same = two_proportion_z(0, 10, 0, 5)
    assert same is not None and same.z is None and not same.significant
