"""Medians and percentiles computed by the database, the same SQL on PostgreSQL and SQLite.

SQLite has no ``percentile_cont``. Both databases have window functions, so the values are given in a long
form (group keys, a metric name, a value), numbered within their group in ascending order, and only the one
or two rows around each percentile's position are kept and blended: the linear interpolation that
``percentile_cont`` does (position ``(n - 1) * p``, a weighted mean of the rows on each side of it).
Percentiles are whole numbers (50, 90), so the position is integer arithmetic with no rounding rules of
either database in the way. The cost is one sort of the group's values, as ``percentile_cont``'s.

On PostgreSQL the same figures come from ``percentile_cont`` itself (the same interpolation), which sorts each
group once for all its percentiles instead of numbering every row, counting it and filtering: about half the
time of the window form over a million values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# {(key..., metric): {percentile: value}}
Quantiles = dict[tuple[Any, ...], dict[int, float]]


def quantiles(session: Session, values: Any, keys: Sequence[str], percentiles: Sequence[int] = (50, 90)) -> Quantiles:
    """``values`` is a subquery with the columns ``keys``, ``metric`` and ``value`` (NULL values are skipped).

    Returns the percentiles of each (keys, metric) group with any value; a group of one value has it as
    every percentile.
    """
    v = values.c
    group = [v[k] for k in keys] + [v.metric]
    if session.get_bind().dialect.name == "postgresql":
        return _collect(session, _ordered_set(values, group, percentiles), keys, percentiles)
    ranked = (
        sa.select(
            *group,
            v.value,
            (sa.func.row_number().over(partition_by=group, order_by=v.value) - 1).label("rn"),
            sa.func.count().over(partition_by=group).label("n"),
        )
        .where(v.value.is_not(None))
        .subquery()
    )
    r = ranked.c
    near, blends = [], []
    for p in percentiles:
        low = (r.n - 1) * p // 100  # the row at or below the position
        part = (r.n - 1) * p % 100  # how far past it, in hundredths
        near += [r.rn == low, r.rn == low + 1]
        weight = sa.case((r.rn == low, 100 - part), (r.rn == low + 1, part), else_=0)
        blends.append((sa.func.sum(r.value * weight) / 100.0).label(f"q{p}"))
    stmt = (
        sa.select(*(r[k] for k in keys), r.metric, *blends)
        .where(sa.or_(*near))
        .group_by(*(r[k] for k in keys), r.metric)
    )
    return _collect(session, stmt, keys, percentiles)


def _ordered_set(values: Any, group: list[Any], percentiles: Sequence[int]) -> sa.Select[Any]:
    value = sa.cast(values.c.value, sa.Float)
    return (
        sa.select(
            *group,
            *(sa.func.percentile_cont(p / 100).within_group(value).label(f"q{p}") for p in percentiles),
        )
        .where(values.c.value.is_not(None))
        .group_by(*group)
    )


def _collect(session: Session, stmt: sa.Select[Any], keys: Sequence[str], percentiles: Sequence[int]) -> Quantiles:
    result: Quantiles = {}
    for row in session.execute(stmt):
        *key, metric = row[: len(keys) + 1]
        result[(*key, metric)] = {p: float(row._mapping[f"q{p}"]) for p in percentiles}
    return result


def long_form(keys: dict[str, Any], metrics: dict[str, Any], source: Any) -> Any:
    """(keys, metric, value) rows, one per metric, of ``source`` (a selectable with the columns the expressions use)."""
    parts = [
        sa.select(*(e.label(k) for k, e in keys.items()), sa.literal(name).label("metric"), value.label("value"))
        .select_from(source)
        .where(value.is_not(None))
        for name, value in metrics.items()
    ]
    return sa.union_all(*parts).subquery()
