"""Configurations tied within measurement noise, and what separates them.

A ranking built on point estimates flips between two runs whenever two configurations are closer
than the measurement can tell. When the local engine gives MaxInvocations a 95% interval (and so
CostPerInference one, irkit.results.confidence), ``resolve`` checks the recommendation against every
other ranked row:

- the *deciding metric* of a pair is the objective that contributes most to the leader's score
  lead (importance x goodness difference, as ``ranking.rank`` scores);
- the pair is *tied within measurement noise* when both rows have an interval on that metric and
  the intervals overlap (latency has no interval, so a lead on latency is never a tie);
- the recommendation and the rows tied with it are then ordered by what separates them: the score
  counted over the metrics whose intervals do not overlap (latency, usually). ModelLatency has no
  interval; two latencies less than ``LATENCY_NOISE`` (10%, the tolerance within which a level's
  windows must agree to count as settled) apart separate nothing either. When nothing separates
  them they are listed cheaper first (CostPerHour, an exact price), then by name: the same order in
  every run, where point estimates inside the noise would flip it. The note says either will do.

Each tie is a ``Tie`` with a sentence (``Tie.text()``); nothing flips silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from irkit.results.confidence import (
    COST_PER_INFERENCE_HI,
    COST_PER_INFERENCE_LO,
    MAX_INVOCATIONS_HI,
    MAX_INVOCATIONS_LO,
)
from irkit.results.frame import CONFIG, short_label
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_INFERENCE,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    metric,
)

if TYPE_CHECKING:
    import pandas as pd

LATENCY_NOISE = 0.10  # latencies closer than this (relative) do not separate tied rows
TIED = "tied"  # ranked frame column: True on the recommendation and each row tied with it
TIES_ATTR = "ties"  # ranked.attrs key holding the list of Tie

# objective column -> its interval columns (objectives without one are never tied)
INTERVALS = {MAX_INVOCATIONS: (MAX_INVOCATIONS_LO, MAX_INVOCATIONS_HI),
             COST_PER_INFERENCE: (COST_PER_INFERENCE_LO, COST_PER_INFERENCE_HI)}
_INTERVAL_FORMATS = {MAX_INVOCATIONS: ("{:,.0f}", 1.0, "", " req/min"),
                     COST_PER_INFERENCE: ("{:,.3f}", 1e6, "$", " per 1M inferences")}
# how a value reads in a sentence: (template, factor)
_VALUE_FORMATS = {COST_PER_INFERENCE: ("${:,.3f}/1M", 1e6), MAX_INVOCATIONS: ("{:,.0f}/min", 1.0),
                  MODEL_LATENCY_MS: ("{:,.0f} ms", 1.0)}


@dataclass(frozen=True)
class Tie:
    """The recommendation ``pick`` and ``other`` cannot be told apart on ``tied_on``."""

    pick: str  # config of the recommendation
    other: str  # config tied with it
    tied_on: tuple[str, ...]  # objective columns whose intervals overlap (the deciding one first)
    separated_by: tuple[str, ...]  # objectives on which they differ beyond the noise, most important first
    values: Mapping[str, tuple[float, float]]  # column -> (pick's value, other's value), for separated_by
    intervals: Mapping[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]  # tied_on column -> (pick, other)
    reordered: bool  # True when the point estimates alone ranked ``other`` first

    def text(self) -> str:
        """One sentence: tied on what, with which intervals, what separates them, and the pick."""
        pick, other = short_label(self.pick), short_label(self.other)
        metrics = " and ".join(metric(m).label for m in self.tied_on)
        shown = MAX_INVOCATIONS if MAX_INVOCATIONS in self.intervals else next(iter(self.intervals), None)
        spans = ""
        pair = self.intervals[shown] if shown is not None else (None, None)
        if shown is not None and pair[0] is not None and pair[1] is not None:
            (a_lo, a_hi), (b_lo, b_hi) = pair[0], pair[1]
            number, factor, prefix, unit = _INTERVAL_FORMATS[shown]

            def span(lo: float, hi: float) -> str:
                return f"{prefix}{number.format(lo * factor)}-{number.format(hi * factor)}"

            spans = f" (95% intervals {span(a_lo, a_hi)} and {span(b_lo, b_hi)}{unit} overlap)"
        head = f"{pick} and {other} are tied within measurement noise on {metrics}{spans}"
        if not self.separated_by:
            return (f"{head}; nothing else measured separates them beyond noise, so either will do ({pick} is "
                    "listed first: the cheaper, or by name at the same price).")
        parts = []
        for column in self.separated_by:
            template, factor = _VALUE_FORMATS.get(column, ("{:,.4g}", 1.0))
            a, b = self.values[column]
            record = metric(column)  # the direction and the name come from the metric's record
            winner = pick if (a > b) == bool(record.higher_is_better) else other
            word = "higher" if record.higher_is_better else "lower"
            parts.append(f"{winner} has the {word} {record.label} ({template.format(a * factor)} vs "
                         f"{template.format(b * factor)})")
        flip = f", although its point estimates alone ranked {other} first" if self.reordered else ""
        return f"{head}. What separates them: {'; '.join(parts)}; so {pick} is recommended{flip}."


def _interval(row: Mapping[str, Any], column: str) -> tuple[float, float] | None:
    columns = INTERVALS.get(column)
    if columns is None:
        return None
    lo, hi = row.get(columns[0]), row.get(columns[1])
    try:
        lo, hi = float(lo), float(hi)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if lo != lo or hi != hi else (lo, hi)


def tied_metrics(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    """The objectives on which rows ``a`` and ``b`` both have an interval, and the intervals overlap."""
    out = set()
    for column in INTERVALS:
        ia, ib = _interval(a, column), _interval(b, column)
        if ia and ib and ia[0] <= ib[1] and ib[0] <= ia[1]:
            out.add(column)
    return out


def _number(row: Mapping[str, Any], column: str) -> float | None:
    try:
        value = float(row.get(column))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if value != value else value


def latency_close(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Both rows have a ModelLatency and the two are less than ``LATENCY_NOISE`` apart."""
    la, lb = _number(a, MODEL_LATENCY_MS), _number(b, MODEL_LATENCY_MS)
    if la is None or lb is None or max(la, lb) <= 0:
        return False
    return abs(la - lb) <= LATENCY_NOISE * max(la, lb)


def noise_metrics(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    """The objectives that cannot separate ``a`` and ``b``: overlapping intervals, close latencies."""
    return tied_metrics(a, b) | ({MODEL_LATENCY_MS} if latency_close(a, b) else set())


def _contributions(ga: Mapping[str, float], gb: Mapping[str, float], weights: Mapping[str, int]) -> dict[str, float]:
    """Each objective's share of a's score lead over b (importance x goodness difference)."""
    return {m: w * (float(ga[m]) - float(gb[m])) for m, w in weights.items()}


def resolve(ranked: pd.DataFrame, goodness: pd.DataFrame, weights: Mapping[str, int]) -> pd.DataFrame:
    """``ranked`` with the recommendation's noise ties ordered by what separates them.

    ``goodness``: per objective column, each row's goodness (0..1), on ``ranked``'s index.
    ``weights``: objective column -> importance. Adds the ``TIED`` column and ``attrs["ties"]``.
    """
    out = ranked.copy()
    out[TIED] = False
    out.attrs[TIES_ATTR] = []
    if len(out) < 2 or not any(c in out.columns for pair in INTERVALS.values() for c in pair):
        return out
    records = out.to_dict("records")
    good = [goodness.loc[i].to_dict() for i in out.index]
    group = [0]
    for j in range(1, len(records)):
        shares = _contributions(good[0], good[j], weights)
        deciding = max(shares, key=lambda m: shares[m])
        if deciding in tied_metrics(records[0], records[j]):
            group.append(j)
    if len(group) == 1:
        return out
    noisy = set().union(*(tied_metrics(records[0], records[j]) for j in group[1:]))
    if all(latency_close(records[i], records[j]) for i in group for j in group):
        noisy.add(MODEL_LATENCY_MS)

    def robust(i: int) -> float:
        return round(sum(w * float(good[i][m]) for m, w in weights.items() if m not in noisy), 9)

    def price(i: int) -> float:
        value = _number(records[i], COST_PER_HOUR)
        return float("inf") if value is None else value

    ordered = sorted(group, key=lambda i: (-robust(i), price(i), str(records[i][CONFIG])))
    positions = list(range(len(records)))
    for slot, row in zip(sorted(group), ordered, strict=True):
        positions[slot] = row
    out = out.iloc[positions].reset_index(drop=True)
    if "rank" in out.columns:
        out["rank"] = range(1, len(out) + 1)
    pick = ordered[0]
    out[TIED] = [p in group for p in positions]
    out.attrs[TIES_ATTR] = [_tie(records, good, weights, pick, j, reordered=pick != 0 and j == 0)
                            for j in ordered[1:]]
    return out


def _tie(records: Sequence[Mapping[str, Any]], good: Sequence[Mapping[str, float]], weights: Mapping[str, int],
         pick: int, other: int, *, reordered: bool) -> Tie:
    a, b = records[pick], records[other]
    shares = _contributions(good[pick], good[other], weights)
    on = noise_metrics(a, b)
    tied_on = tuple(sorted(on, key=lambda m: -abs(shares.get(m, 0.0))))
    separated = tuple(m for m in sorted(weights, key=lambda m: (-weights[m], m))
                      if m not in on and abs(shares[m]) > 1e-12)
    spans = {m: (_interval(a, m), _interval(b, m)) for m in tied_on if m in INTERVALS}
    return Tie(str(a[CONFIG]), str(b[CONFIG]), tied_on, separated,
               {m: (float(a[m]), float(b[m])) for m in separated}, spans, reordered)


def ties_of(ranked: pd.DataFrame) -> list[Tie]:
    """The ties ``ranking.recommend`` found for its recommendation (empty when none, or not ranked by it)."""
    return list(ranked.attrs.get(TIES_ATTR) or [])


def tie_notes(ranked: pd.DataFrame) -> list[str]:
    """``Tie.text()`` of each tie of the recommendation."""
    return [tie.text() for tie in ties_of(ranked)]


def tie_marks(ranked: pd.DataFrame) -> list[str]:
    """Per row of a ``recommend`` frame: ``tied with #2, #3`` on the pick, ``tied with #1`` on the rows
    tied with it, an empty string elsewhere (all empty without a ``TIED`` column)."""
    if TIED not in ranked or not len(ranked):
        return [""] * len(ranked)
    tied = [bool(t) for t in ranked[TIED]]
    others = [f"#{i + 1}" for i, t in enumerate(tied) if t and i > 0]
    return [("tied with " + ", ".join(others) if i == 0 else "tied with #1") if t and others else ""
            for i, t in enumerate(tied)]
