"""The holdout's choice as a pure function: its share over many bookings, and its stability."""

from __future__ import annotations

import math

import pytest

from recall.reminders.holdout import BUCKETS, bucket, held_out

N = 10_000


@pytest.mark.parametrize("percent", [1, 5, 20, 50])
@pytest.mark.parametrize("salt", ["5f1c0e9a", "clinic-salt-2"])
def test_the_held_out_share_over_ten_thousand_bookings_is_within_five_standard_deviations(percent, salt):
    p = percent / 100
    count = sum(held_out(7, booking_id, salt, percent) for booking_id in range(1, N + 1))
    sd = math.sqrt(N * p * (1 - p))
    assert abs(count - N * p) < 5 * sd, (count, N * p)


def test_no_booking_is_held_out_when_the_share_is_zero():
    assert not any(held_out(7, b, "salt", 0) for b in range(1, 2001))


def test_the_same_booking_always_lands_on_the_same_side():
    first = [held_out(3, b, "salt", 5) for b in range(1, 1001)]
    again = [held_out(3, b, "salt", 5) for b in range(1, 1001)]
    assert first == again


def test_raising_the_share_only_adds_bookings_to_the_held_out_side():
    at_five = {b for b in range(1, N + 1) if held_out(3, b, "salt", 5)}
    at_ten = {b for b in range(1, N + 1) if held_out(3, b, "salt", 10)}
    assert at_five < at_ten


def test_another_salt_or_clinic_picks_other_bookings():
    picked = {b for b in range(1, N + 1) if held_out(3, b, "salt", 10)}
    other_salt = {b for b in range(1, N + 1) if held_out(3, b, "pepper", 10)}
    other_clinic = {b for b in range(1, N + 1) if held_out(4, b, "salt", 10)}
    # Independent samples of 10 % overlap in about 1 % of the bookings, not in all of them.
    assert len(picked & other_salt) < 0.2 * len(picked)
    assert len(picked & other_clinic) < 0.2 * len(picked)


def test_buckets_spread_evenly_over_their_range():
    counts = [0] * 10
    for b in range(1, N + 1):
        value = bucket(1, b, "salt")
        assert 0 <= value < BUCKETS
        counts[value * 10 // BUCKETS] += 1
    # A chi-squared of 9 degrees of freedom stays below 27.9 with probability 0.999.
    chi2 = sum((c - N / 10) ** 2 / (N / 10) for c in counts)
    assert chi2 < 27.9
