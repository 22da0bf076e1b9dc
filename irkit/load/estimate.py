"""How sure a throughput is: a level's mean over its windows with a 95% interval, and when two differ.

Pure functions over STEP dicts (docs/architecture.md). A STEP that carries ``windows`` (a few
seconds each, see windows.py) gets a Student-t interval over its windows' throughputs; one without
(an old result, or a step too short for two windows) gets its own ``rps`` and no interval.

Two levels are **told apart** when their intervals do not overlap *and* they differ by more than
``NOISE_FLOOR`` (5%, the same growth the doubling asks for): a difference that small is never worth
an extra user, however tight the intervals. On one core, 2 users gain about 3% over 1 (the network
and decoding overlap the inference) and double the latency: that is queueing, not capacity. Levels more than ``NOISE_CEILING`` (10%) apart are always told apart: intervals that wide
say the levels are noisy, not that they are equal, and treating them as equal would let the knee
slide down to a level that serves far less (measured against wrk on a batched local.cpu2 server:
-32% and -40% before this rule). Without intervals the old rule stands in: more than
``FALLBACK_TOLERANCE`` (5%) apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CONFIDENCE = 0.95
NOISE_FLOOR = 0.05  # levels closer than this are never told apart
NOISE_CEILING = 0.10  # levels further apart than this are always told apart
FALLBACK_TOLERANCE = 0.05  # steps without windows: told apart beyond 5%

# Two-sided 95% Student-t quantiles by degrees of freedom; beyond the table the normal's 1.96.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 22: 2.074, 24: 2.064, 26: 2.056, 28: 2.048, 30: 2.042,
        40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom (conservative between rows)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df in _T95:
        return _T95[df]
    below = [k for k in _T95 if k < df]
    return _T95[max(below)] if df <= max(_T95) else 1.96


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval; ``lo``/``hi`` are None when there was one sample."""

    mean: float
    lo: float | None
    hi: float | None
    n: int

    @property
    def known(self) -> bool:
        return self.lo is not None and self.hi is not None

    def scaled(self, factor: float) -> Interval:
        return Interval(self.mean * factor, None if self.lo is None else self.lo * factor,
                        None if self.hi is None else self.hi * factor, self.n)


def mean_interval(values: Sequence[float]) -> Interval:
    """Mean and 95% t-interval of ``values`` (the interval never goes below 0)."""
    n = len(values)
    if n == 0:
        return Interval(0.0, None, None, 0)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, n)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    return Interval(mean, max(0.0, mean - half), mean + half, n)


@dataclass(frozen=True)
class LevelEstimate:
    """One load level's throughput (req/s) with its interval, read off a STEP."""

    index: int  # position in the steps given
    users: int
    rps: Interval
    stable: bool | None  # None: the step has no windows

    @property
    def mean(self) -> float:
        return self.rps.mean


def step_windows(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in step.get("windows") or [] if w.get("rps") is not None]


def level_estimate(index: int, step: dict[str, Any]) -> LevelEstimate:
    """A STEP's throughput: the mean of its windows with a t-interval, else its ``rps`` alone."""
    windows = step_windows(step)
    if len(windows) >= 2:
        interval = mean_interval([float(w["rps"]) for w in windows])
    else:
        interval = Interval(float(step.get("rps") or 0.0), None, None, 1)
    interval = covering(interval, step.get("measurement_rps") or ())
    stable = step.get("stable")
    return LevelEstimate(index, int(step.get("users") or 0), interval,
                         None if stable is None else bool(stable))


def merge_steps(steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One level measured more than once (a knee search re-measures its best level): one STEP.

    Windows, requests and errors add up; ``rps`` is completion-weighted over both; ``stable`` holds
    only if every measurement settled. The latency figures stay the first measurement's (exact
    percentiles cannot be added from two summaries), and ``measurements`` says how many there were.
    """
    if len(steps) == 1:
        return steps[0]
    merged = dict(steps[0])
    merged["windows"] = [w for s in steps for w in s.get("windows") or []]
    merged["requests"] = sum(int(s.get("requests") or 0) for s in steps)
    merged["errors"] = sum(int(s.get("errors") or 0) for s in steps)
    span = sum(int(s.get("requests") or 0) / float(s["rps"]) for s in steps if s.get("rps"))
    merged["rps"] = round(merged["requests"] / span, 3) if span > 0 else 0.0
    flags = [s.get("stable") for s in steps if s.get("stable") is not None]
    merged["stable"] = all(flags) if flags else None
    merged["measurements"] = len(steps)
    merged["measurement_rps"] = [level_estimate(0, s).mean for s in steps]
    return merged


def covering(interval: Interval, means: Sequence[float]) -> Interval:
    """``interval`` widened, where needed, to hold each separate measurement's mean of one level.

    Windows a few seconds apart do not see a machine that drifts over minutes; a level measured
    twice, minutes apart, does. When its two means differ by more than its windows' interval
    allows, the interval is not allowed to claim more than the two measurements show.
    """
    if len(means) < 2 or not interval.known:
        return interval
    assert interval.lo is not None and interval.hi is not None
    return Interval(interval.mean, max(0.0, min(interval.lo, *means)), max(interval.hi, *means), interval.n)


def told_apart(a: LevelEstimate, b: LevelEstimate) -> bool:
    """True when ``a`` and ``b`` measurably differ in throughput (see the module docstring)."""
    top = max(a.mean, b.mean)
    if top <= 0:
        return False
    gap = abs(a.mean - b.mean) / top
    if gap > NOISE_CEILING:
        return True
    if not (a.rps.known and b.rps.known):
        return gap > FALLBACK_TOLERANCE
    assert a.rps.lo is not None and a.rps.hi is not None and b.rps.lo is not None and b.rps.hi is not None
    overlap = a.rps.lo <= b.rps.hi and b.rps.lo <= a.rps.hi
    return gap > NOISE_FLOOR and not overlap


def best_level(levels: Sequence[LevelEstimate]) -> LevelEstimate | None:
    return max(levels, key=lambda e: e.mean) if levels else None


def knee_level(levels: Sequence[LevelEstimate]) -> LevelEstimate | None:
    """The first level (in the order given) whose throughput cannot be told apart from the best one's."""
    best = best_level(levels)
    if best is None:
        return None
    for level in levels:
        if not told_apart(level, best):
            return level
    return best  # pragma: no cover - the best is never told apart from itself


def per_minute(interval: Interval) -> list[int] | None:
    """``[lo, hi]`` in requests per minute (the result's ``max_invocations_ci``), or None."""
    if not interval.known:
        return None
    assert interval.lo is not None and interval.hi is not None
    return [int(math.floor(interval.lo * 60)), int(math.ceil(interval.hi * 60))]
