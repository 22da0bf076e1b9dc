"""Rank configurations by deployment goals, find the Pareto front, filter by an SLO.

``recommend`` is THE recommendation: ``irkit recommend``'s summary, ``irkit jobs list|show``,
``irkit report``, the app's results view and notebook 06 all call it, with ``DEFAULT_IMPORTANCES``
unless told otherwise, and say which importances they used (``importance_text``).

``rank`` mirrors the Studio console's three deployment goals (cost, latency, throughput), each an
importance level from 1 (barely matters) to 5 (matters most). Each goal's metric and direction come
from its record in ``irkit.results.metrics`` (``GOAL_METRICS``):

    goodness_cost    = (max cpi - cpi) / (max cpi - min cpi)        cost per inference, lower is better
    goodness_latency = (max lat - lat) / (max lat - min lat)        model latency, lower is better
    goodness_tput    = (rpm - min rpm) / (max rpm - min rpm)        max invocations, higher is better
    score = (cost * g_cost + latency * g_latency + throughput * g_tput) / (cost + latency + throughput)

so a score is in [0, 1] and 1 means best on every goal. When all rows tie on a metric its goodness
is 1 for all; a missing metric (an endpoint row has no cost) counts as the worst (0). Ties in score
go to the lower cost per inference, then the lower latency. The top row is the recommendation.

``recommend`` also checks the recommendation against measurement noise (``irkit.results.ties``):
when the metric that puts it ahead of another row has overlapping 95% intervals, the two are
"tied within measurement noise", ordered by what separates them (latency, usually), marked in
the ``tied`` column, and described by ``tie_notes(ranked)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from irkit.errors import IrkitError
from irkit.results.frame import CONFIG, KIND, KIND_RECOMMENDATION, RECOMMENDATION_ID
from irkit.results.metrics import (
    COST_PER_INFERENCE,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    SCORE,
    metric,
)
from irkit.results.ties import TIED, Tie, resolve, tie_marks, tie_notes, ties_of  # noqa: F401

if TYPE_CHECKING:
    import pandas as pd

RANK = "rank"  # 1 = the recommendation
PARETO = "pareto"  # True when no other row beats this one on cost, latency and throughput together
IMPORTANCES = "importances"  # key in a ranked frame's ``attrs``: the importances it was ranked with
IMPORTANCE_LEVELS = (1, 2, 3, 4, 5)
# the deployment goals, in the console's order, and the metric each one ranks by
GOAL_METRICS: Mapping[str, str] = MappingProxyType(
    {"cost": COST_PER_INFERENCE, "latency": MODEL_LATENCY_MS, "throughput": MAX_INVOCATIONS}
)
GOALS = tuple(GOAL_METRICS)
# the ONE default: every place that ranks without being told otherwise uses these
DEFAULT_IMPORTANCES: Mapping[str, int] = MappingProxyType({"cost": 3, "latency": 3, "throughput": 3})
# objective column -> True when higher is better (read from the metric records)
OBJECTIVES = {column: bool(metric(column).higher_is_better) for column in GOAL_METRICS.values()}


class RankingError(IrkitError, ValueError):
    """A ranking argument is out of range or the frame lacks a column."""


def _importance(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in IMPORTANCE_LEVELS:
        raise RankingError(f"{name}: importance must be an integer from 1 to 5, got {value!r}")
    return value


def _check_columns(df: pd.DataFrame) -> None:
    missing = [c for c in OBJECTIVES if c not in df.columns]
    if missing:
        raise RankingError(f"frame lacks column(s) {', '.join(missing)}: build it with irkit.results.to_frame")


def _goodness(values: pd.Series, higher_is_better: bool) -> pd.Series:
    low, high = values.min(), values.max()
    if values.notna().sum() == 0:
        return values.fillna(0.0)
    if high == low:
        good = values.where(values.isna(), 1.0)
    elif higher_is_better:
        good = (values - low) / (high - low)
    else:
        good = (high - values) / (high - low)
    return good.astype("float64").fillna(0.0)


def _goodness_table(df: pd.DataFrame) -> pd.DataFrame:
    """Each row's goodness (0..1) per objective column, as ``rank`` scores it."""
    import pandas as pd

    return pd.DataFrame({column: _goodness(df[column].astype("float64"), better)
                         for column, better in OBJECTIVES.items()}, index=df.index)


def importances(
    cost: int | None = None, latency: int | None = None, throughput: int | None = None
) -> dict[str, int]:
    """The checked importance per goal; a goal not given takes ``DEFAULT_IMPORTANCES``."""
    given = {"cost": cost, "latency": latency, "throughput": throughput}
    return {goal: _importance(goal, DEFAULT_IMPORTANCES[goal] if given[goal] is None else given[goal])
            for goal in GOALS}


def importance_text(levels: Mapping[str, int] | None = None) -> str:
    """``importance cost 3, latency 3, throughput 3 (1-5)``: how a recommendation was ranked."""
    levels = DEFAULT_IMPORTANCES if levels is None else levels
    return "importance " + ", ".join(f"{goal} {levels[goal]}" for goal in GOALS) + " (1-5)"


def rank(
    df: pd.DataFrame,
    cost: int = DEFAULT_IMPORTANCES["cost"],
    latency: int = DEFAULT_IMPORTANCES["latency"],
    throughput: int = DEFAULT_IMPORTANCES["throughput"],
) -> pd.DataFrame:
    """A copy of ``df`` ordered best first, with ``score`` (0..1) and ``rank`` (1 = recommended)."""
    levels = importances(cost, latency, throughput)
    weights = {GOAL_METRICS[goal]: level for goal, level in levels.items()}
    _check_columns(df)
    out = df.copy()
    total = sum(weights.values())
    score = sum(
        weight * _goodness(out[column].astype("float64"), OBJECTIVES[column])
        for column, weight in weights.items()
    )
    out[SCORE] = (score / total).round(6) if len(out) else score
    out = out.sort_values(
        [SCORE, COST_PER_INFERENCE, MODEL_LATENCY_MS], ascending=[False, True, True],
        na_position="last", kind="stable",
    ).reset_index(drop=True)
    out[RANK] = range(1, len(out) + 1)
    out.attrs[IMPORTANCES] = levels
    return out


def pareto_mask(df: pd.DataFrame) -> pd.Series:
    """True for each row no other row dominates (<= cost and latency, >= throughput, one strictly).

    A row missing any of the three metrics is never on the front.
    """
    import pandas as pd

    _check_columns(df)
    cost = df[COST_PER_INFERENCE].astype("float64").to_numpy()
    lat = df[MODEL_LATENCY_MS].astype("float64").to_numpy()
    tput = df[MAX_INVOCATIONS].astype("float64").to_numpy()
    complete = ~(pd.isna(cost) | pd.isna(lat) | pd.isna(tput))
    flags = []
    for i in range(len(df)):
        if not complete[i]:
            flags.append(False)
            continue
        dominated = False
        for j in range(len(df)):
            if j == i or not complete[j]:
                continue
            no_worse = cost[j] <= cost[i] and lat[j] <= lat[i] and tput[j] >= tput[i]
            better = cost[j] < cost[i] or lat[j] < lat[i] or tput[j] > tput[i]
            if no_worse and better:
                dominated = True
                break
        flags.append(not dominated)
    return pd.Series(flags, index=df.index, name=PARETO, dtype=bool)


def pareto(df: pd.DataFrame) -> pd.DataFrame:
    """The rows on the Pareto front, cheapest per inference first."""
    front = df[pareto_mask(df)]
    return front.sort_values([COST_PER_INFERENCE, MODEL_LATENCY_MS], kind="stable").reset_index(drop=True)


def meets(df: pd.DataFrame, latency_ms: float | None = None, min_rpm: float | None = None) -> pd.DataFrame:
    """The rows whose latency is at most ``latency_ms`` and max invocations at least ``min_rpm``/min."""
    _check_columns(df)
    keep = df[MODEL_LATENCY_MS].notna() | (latency_ms is None)
    if latency_ms is not None:
        if latency_ms <= 0:
            raise RankingError(f"latency_ms: must be positive, got {latency_ms!r}")
        keep &= df[MODEL_LATENCY_MS] <= latency_ms
    if min_rpm is not None:
        if min_rpm < 0:
            raise RankingError(f"min_rpm: must not be negative, got {min_rpm!r}")
        keep &= df[MAX_INVOCATIONS] >= min_rpm
    return df[keep].reset_index(drop=True)


def recommend(
    df: pd.DataFrame,
    cost: int = DEFAULT_IMPORTANCES["cost"],
    latency: int = DEFAULT_IMPORTANCES["latency"],
    throughput: int = DEFAULT_IMPORTANCES["throughput"],
    *,
    latency_ms: float | None = None,
    min_rpm: float | None = None,
    min_top1_agreement: float | None = None,
    min_top5_agreement: float | None = None,
    min_cosine: float | None = None,
) -> pd.DataFrame:
    """THE recommendation: recommendation rows that meet the SLO, ranked (``pareto`` column added).

    The top row is the pick. Endpoint benchmark rows are left out (they have no cost). Empty when
    nothing meets the SLO. ``attrs["importances"]`` holds the importances used.
    Rows tied with the pick within measurement noise are ordered by what separates them and
    marked ``tied``; ``tie_notes(ranked)`` says so in words.
    ``min_top1_agreement`` / ``min_top5_agreement`` / ``min_cosine`` (0..1) are fidelity floors: a
    configuration served by another runtime than TensorFlow qualifies only when its answers agree with
    TensorFlow's at least that much (``irkit.results.fidelity``; ``attrs["fidelity_floor"]`` keeps them).
    """
    from irkit.results.fidelity import FLOOR_ATTR, check_floors, floor_mask

    floors = check_floors({"min_top1_agreement": min_top1_agreement, "min_top5_agreement": min_top5_agreement,
                           "min_cosine": min_cosine})
    if KIND in df.columns:
        df = df[df[KIND] == KIND_RECOMMENDATION]
    if floors:
        df = df[floor_mask(df, floors)]
    candidates = meets(df, latency_ms=latency_ms, min_rpm=min_rpm)
    ranked = rank(candidates, cost=cost, latency=latency, throughput=throughput)
    levels = importances(cost, latency, throughput)
    ranked = resolve(ranked, _goodness_table(ranked), {GOAL_METRICS[g]: level for g, level in levels.items()})
    ranked[PARETO] = pareto_mask(ranked).to_numpy() if len(ranked) else []
    ranked.attrs[IMPORTANCES] = levels
    if floors:
        ranked.attrs[FLOOR_ATTR] = floors
    return ranked


def used_importances(ranked: pd.DataFrame) -> dict[str, int]:
    """The importances ``ranked`` was ranked with (the defaults when it does not say)."""
    return dict(ranked.attrs.get(IMPORTANCES) or DEFAULT_IMPORTANCES)


def recommendation_line(ranked: pd.DataFrame, levels: Mapping[str, int] | None = None) -> str:
    """``recommended: CONFIG (RecommendationId), ranked with importance cost 3, ...`` or why none."""
    levels = used_importances(ranked) if levels is None else levels
    from irkit.results.fidelity import FLOOR_ATTR, floor_text

    floor = floor_text(ranked.attrs.get(FLOOR_ATTR) or {})
    floor = f"; fidelity floor {floor}" if floor else ""
    if ranked.empty:
        return f"recommended: none (no configuration qualified; ranked with {importance_text(levels)}{floor})"
    best = ranked.iloc[0]
    rid = best.get(RECOMMENDATION_ID)
    ident = f" ({rid})" if isinstance(rid, str) and rid else ""
    return f"recommended: {best[CONFIG]}{ident}, ranked with {importance_text(levels)}{floor}"
