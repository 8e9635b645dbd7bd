"""Medians and percentiles computed by the database.

SQLite has no ``percentile_cont``. Both databases have window functions, so the values are given in a long
form (group keys, a metric name, a value), numbered within their group in ascending order, and only the one
or two rows around each percentile's position are kept and blended: the linear interpolation that
``percentile_cont`` does (position ``(n - 1) * p``, a weighted mean of the rows on each side of it).
Percentiles are whole numbers (50, 90), so the position is integer arithmetic with no rounding rules of
either database in the way. The cost is one sort of the group's values, as ``percentile_cont``'s.

On PostgreSQL the reports take the same figures from ``percentile_cont`` itself (``ordered_set``: the same
interpolation) in the pass that counts, grouped at every level at once by GROUPING SETS: one sort of each
group's values for all its percentiles, instead of numbering every row, counting it and filtering, and no
second pass. ``quantiles`` (the window form) runs on both databases; the reports use it on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# {(key..., metric): {percentile: value}}
Quantiles = dict[tuple[Any, ...], dict[int, float]]
PERCENTILES = (50, 90)  # the median and the 90th percentile, as every report shows them


def quantiles(
    session: Session, values: Any, keys: Sequence[str], percentiles: Sequence[int] = PERCENTILES
) -> Quantiles:
    """``values`` is a subquery with the columns ``keys``, ``metric`` and ``value`` (NULL values are skipped).

    Returns the percentiles of each (keys, metric) group with any value; a group of one value has it as
    every percentile.
    """
    v = values.c
    group = [v[k] for k in keys] + [v.metric]
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


def ordered_set(value: Any, percentiles: Sequence[int], where: Any = None, prefix: str = "q") -> list[Any]:
    """PostgreSQL's ``percentile_cont`` of ``value`` per percentile, labelled ``{prefix}{p}``, for a GROUP BY.

    NULL values are skipped, as ``quantiles`` does; ``where`` narrows the group's rows (a FILTER clause).
    The calls share their input, so PostgreSQL sorts each group's values once for all of them. A group with
    no value gives NULL.
    """
    value = sa.cast(value, sa.Float)
    columns = []
    for p in percentiles:
        call: Any = sa.func.percentile_cont(p / 100).within_group(value)
        columns.append((call if where is None else call.filter(where)).label(f"{prefix}{p}"))
    return columns


def read_ordered_sets(row: Any, first: int, metrics: Sequence[str]) -> dict[str, dict[int, Any]]:
    """The ``ordered_set`` columns of ``row``, from position ``first``: metric by metric, each's ``PERCENTILES``."""
    n = len(PERCENTILES)
    return {m: {p: row[first + i * n + j] for j, p in enumerate(PERCENTILES)} for i, m in enumerate(metrics)}


def as_float(value: Any) -> float | None:
    """A percentile as read back (a float, or a Decimal from an average), or None for a group with no value."""
    return None if value is None else float(value)


def tune_for_reports(session: Session) -> None:
    """Settings for one report's transaction on PostgreSQL: sorts in memory, no JIT, parallel reads.

    A report sorts a few hundred thousand rows at most; the default 4 MB of work memory spills them to disk
    (an external merge, about twice the time), and JIT compiling a report costs more than it saves. The
    percentiles have no partial form, so the grouping stays in one process, but the scan, the join and the
    sort under it can run in parallel workers: the default costs of starting them rule that out below about
    a million rows, and a report over a clinic's history reads a few hundred thousand (time to answer over
    200,000 tasks: about 0.6 of the time in one process, on two cores). ``set_config`` sets them all in one
    round trip, for this transaction only.
    """
    if session.get_bind().dialect.name == "postgresql":
        settings = {"work_mem": "64MB", "jit": "off", "parallel_setup_cost": "100", "parallel_tuple_cost": "0.01"}
        session.execute(sa.select(*(sa.func.set_config(name, value, True) for name, value in settings.items())))


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
