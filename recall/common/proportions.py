"""Proportions and their uncertainty: the Wilson score interval and the two-proportion z-test.

Why these: a no-show rate is a share of a few dozen or hundred bookings, often near 0. The Wilson interval stays
inside [0, 1] and keeps its coverage at small counts and extreme rates, where the textbook (Wald) interval
collapses to a point at 0 no-shows. Whether two rates differ is decided by the pooled two-proportion z-test
(two-sided, 5 %), the test the Wilson interval inverts; two 95 % intervals that do not overlap imply a
significant difference, but overlapping ones do not imply the opposite, so the overlap is shown and the test
decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the two-sided 95 % quantile of the standard normal
ALPHA = 0.05


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes`` out of ``n``; None when ``n`` is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ZTest:
    difference: float  # the first rate minus the second
    z: float | None  # None when the pooled rate is 0 or 1: no variance, no evidence of a difference
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """The pooled two-proportion z-test of x1/n1 against x2/n2, two-sided; None when either n is 0."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return ZTest(p1 - p2, None, 1.0)
    z = (p1 - p2) / math.sqrt(variance)
    return ZTest(p1 - p2, z, math.erfc(abs(z) / math.sqrt(2)))
