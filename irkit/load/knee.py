"""Find MaxInvocations on a load curve: the knee, where throughput levels off or the latency SLO is crossed.

Pure functions over STEP dicts (docs/architecture.md): no I/O, no clock, so every rule here is
tested on synthetic curves. Throughput is req/s in a step; MaxInvocations is req/min.

The rules, in order:
1. A step *breaks the SLO* when its latency at the spec's percentile exceeds the threshold or more
   than ``MAX_ERROR_RATE`` of its requests failed. Only the steps before the first broken one count.
2. Each counted step's throughput is the mean of its windows with a 95% interval (estimate.py).
   The *best* step is the one with the highest mean. A level measured twice (the knee search
   re-measures its best level once it has found the knee) counts as one, with all its windows.
3. The *knee* is the first step whose throughput cannot be told apart from the best's (intervals
   overlap within 10%, or within 5%): IR's "where the invocations first level off".
4. **MaxInvocations** is the best level's mean when that level was re-measured (a maximum over
   noisy levels reads high; a second, independent measurement of the chosen level does not), and
   no other level reads measurably higher (:func:`confirmed_level`); else the knee's own mean (IR's
   PHASES and STAIRS measure each level once). Its interval comes with it.
5. **ModelLatency** is read where the invocations first level off, never at a later step that only
   adds queueing: at the first level within 5% of the best (``estimate.NOISE_FLOOR``), blended with
   the level below it when that one is only 5-10% under the best, the band where a level can land
   on either side of the line from run to run (:func:`knee_latency`; ``latency_users`` says where
   it was read). A level right at the 5% line then cannot flip ModelLatency between two levels'
   latencies (1 user: 63 ms; 2 users, 3-5% more throughput: 118 ms, on one core): the reading
   moves as little as the data does.
6. The curve *levelled out* when, after the best step so far, ``patience`` steps in a row failed to
   raise throughput by more than ``tolerance``. ``stop_reason`` uses this to end a test early
   (``flat_invocations: Stop``).

The knee search (knee_search.py) reads its levels the same way, ordered by users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from irkit.load import estimate

DEFAULT_TOLERANCE = 0.05  # a step must beat the best by 5% to count as growth
DEFAULT_PATIENCE = 2  # non-growing steps in a row that mean "levelled out"
MAX_ERROR_RATE = 0.05  # a step with more failed requests than this breaks the SLO

REASON_LEVELLED = "levelled"  # throughput stopped growing
REASON_THRESHOLD = "latency_threshold"  # the next step crossed the latency threshold
REASON_ERRORS = "errors"  # the next step failed too many requests
REASON_NOT_SATURATED = "not_saturated"  # still growing at the last step: a lower bound
REASON_MAX_INVOCATIONS = "max_invocations"  # the spec's max_invocations was reached
REASON_NO_DATA = "no_data"  # no step within the SLO had any request


@dataclass(frozen=True)
class Plateau:
    """Where a curve tops out. ``step_index`` indexes the steps given; -1 when there is no data."""

    step_index: int
    max_invocations: int  # req/min at the plateau level
    level_rps: float
    model_latency_ms: float | None  # at the configured percentile, at the plateau step
    reason: str
    ci_per_min: list[int] | None = None  # 95% interval of MaxInvocations, [lo, hi] req/min
    stable: bool | None = None  # the knee step's windows settled (None: it has no windows)
    users: int | None = None  # the knee step's users
    best_users: int | None = None  # the users of the best level (MaxInvocations' level when confirmed)
    confirmed: bool = False  # the best level was measured twice and MaxInvocations is its mean
    latency_users: float | None = None  # where on the curve ModelLatency was read (rule 5; between levels)

    @property
    def found(self) -> bool:
        return self.step_index >= 0


def percentile_key(percentile: str | None) -> str:
    """``"P95"`` -> ``"p95_ms"``, the STEP key that holds that latency."""
    name = (percentile or "P95").strip().lower().lstrip("p")
    return f"p{name}_ms"


def breaks_slo(step: dict[str, Any], threshold_ms: float | None, percentile: str | None = "P95") -> str | None:
    """The reason a step is outside the SLO (``REASON_THRESHOLD``/``REASON_ERRORS``), or None."""
    requests = step.get("requests") or 0
    errors = step.get("errors") or 0
    total = requests if requests >= errors else requests + errors
    if total and errors / total > MAX_ERROR_RATE:
        return REASON_ERRORS
    latency = step.get(percentile_key(percentile))
    if threshold_ms is not None and latency is not None and latency > threshold_ms:
        return REASON_THRESHOLD
    return None


def _rps(step: dict[str, Any]) -> float:
    value = step.get("rps")
    return float(value) if value is not None else 0.0


def levelled_out(rps: Sequence[float], *, tolerance: float = DEFAULT_TOLERANCE, patience: int = DEFAULT_PATIENCE) -> bool:
    """True when the last ``patience`` values all failed to beat the earlier best by ``tolerance``."""
    if len(rps) <= patience:
        return False
    best_before = max(rps[: len(rps) - patience])
    return best_before > 0 and all(r <= best_before * (1 + tolerance) for r in rps[-patience:])


def _groups(steps: Sequence[dict[str, Any]], order: Sequence[int], by_users: bool) -> list[list[int]]:
    """Indices of ``steps`` per level, in ``order``: one per step, or (``by_users``) one per users value."""
    if not by_users:
        return [[i] for i in order]
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(int(steps[i].get("users") or 0), []).append(i)
    return list(groups.values())


def knee_latency(levels: Sequence[estimate.LevelEstimate], best_mean: float,
                 latency_of: Callable[[int], float | None]) -> tuple[float | None, float | None]:
    """(ModelLatency, the concurrency it was read at): at the first level within ``NOISE_FLOOR`` (5%)
    of the best, blended with the level below it when that one lies in the noise band (rule 5).

    ``levels`` in order of users, inside the SLO; ``latency_of(index)`` reads a level's latency.
    A level below the first one that reaches the line, but by less than ``NOISE_CEILING`` (10%),
    could have landed on either side of the line in another run: the reading moves from the upper
    level's latency (the lower one 10% or more under the best) to the lower level's (5% under,
    where it would become the first level itself), linearly in its throughput. Elsewhere it is one
    level's own latency. A continuous function of the measured throughputs.
    """
    target = (1 - estimate.NOISE_FLOOR) * best_mean
    band_bottom = (1 - estimate.NOISE_CEILING) * best_mean
    position = next(i for i, level in enumerate(levels) if level.mean >= target)
    level = levels[position]
    own = latency_of(level.index)
    if position == 0 or own is None:
        return own, float(level.users)
    below = levels[position - 1]
    low = latency_of(below.index)
    if low is None or below.users >= level.users or below.mean <= band_bottom:
        return own, float(level.users)
    share = min(1.0, max(0.0, (target - below.mean) / (target - band_bottom)))
    return low + share * (own - low), below.users + share * (level.users - below.users)


def confirmed_level(levels: Sequence[estimate.LevelEstimate],
                    merged: dict[int, dict[str, Any]]) -> estimate.LevelEstimate | None:
    """The re-measured level MaxInvocations stands on (rule 4), or None.

    The highest re-measured level, as long as no level reads measurably higher (estimate.told_apart):
    a plateau's other levels that read a little higher once are noise, and choosing them again would
    bring the maximum's bias back.
    """
    again = [level for level in levels if (merged[level.index].get("measurements") or 1) > 1]
    best = estimate.best_level(levels)
    top = estimate.best_level(again)
    if top is None or best is None:
        return None
    return top if top is best or not estimate.told_apart(top, best) else None


def find_plateau(
    steps: Sequence[dict[str, Any]],
    *,
    threshold_ms: float | None = None,
    percentile: str | None = "P95",
    tolerance: float = DEFAULT_TOLERANCE,
    patience: int = DEFAULT_PATIENCE,
    by_users: bool = False,
) -> Plateau:
    """The knee of a finished (or stopped) curve, steps in the order they ran.

    ``by_users``: read the steps in order of users (a knee search measures levels out of order, and
    may measure one twice); ``step_index`` still indexes ``steps`` as given (a level's first step).
    """
    order = sorted(range(len(steps)), key=lambda i: (steps[i].get("users") or 0, i)) if by_users \
        else list(range(len(steps)))
    within: list[int] = []
    crossed: str | None = None
    for group in _groups(steps, order, by_users):
        crossed = breaks_slo(estimate.merge_steps([steps[i] for i in group]), threshold_ms, percentile)
        if crossed:
            break
        within.extend(group)
    counted = set(within)
    groups = _groups(steps, [i for i in order if i in counted], by_users)
    merged = {g[0]: estimate.merge_steps([steps[i] for i in g]) for g in groups}
    usable = [g[0] for g in groups if (merged[g[0]].get("requests") or 0) > 0 and _rps(merged[g[0]]) > 0]
    if not usable:
        return Plateau(-1, 0, 0.0, None, crossed or REASON_NO_DATA)
    levels = [estimate.level_estimate(i, merged[i]) for i in usable]
    knee = estimate.knee_level(levels)
    best = estimate.best_level(levels)
    assert knee is not None and best is not None
    chosen = confirmed_level(levels, merged) or knee
    confirmed = chosen is not knee or (merged[knee.index].get("measurements") or 1) > 1
    key = percentile_key(percentile)

    def latency_of(index: int) -> float | None:
        value = steps[index].get(key)
        return None if value is None else float(value)

    latency, latency_users = knee_latency(levels, best.mean, latency_of)
    if crossed:
        reason = crossed
    elif levelled_out([_rps(merged[i]) for i in usable], tolerance=tolerance, patience=patience) \
            or knee.index != usable[-1]:
        reason = REASON_LEVELLED
    else:
        reason = REASON_NOT_SATURATED
    return Plateau(knee.index, int(round(chosen.mean * 60)), chosen.mean, None if latency is None else round(latency, 3),
                   reason, estimate.per_minute(chosen.rps), knee.stable, int(steps[knee.index].get("users") or 0),
                   chosen.users if confirmed else best.users, confirmed, None if latency_users is None else round(latency_users, 2))


def stop_reason(
    steps: Sequence[dict[str, Any]],
    *,
    threshold_ms: float | None = None,
    percentile: str | None = "P95",
    flat_invocations: str | None = None,
    max_invocations: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    patience: int = DEFAULT_PATIENCE,
) -> str | None:
    """Why a running test should end now (IR's stopping conditions), or None to go on.

    The latency threshold and ``max_invocations`` always stop a test, as in IR; a levelled-out
    curve stops it only with ``flat_invocations: Stop``.
    """
    if not steps:
        return None
    last = steps[-1]
    crossed = breaks_slo(last, threshold_ms, percentile)
    if crossed:
        return crossed
    if max_invocations and _rps(last) * 60 >= max_invocations:
        return REASON_MAX_INVOCATIONS
    if (flat_invocations or "").lower() == "stop" and levelled_out(
        [_rps(s) for s in steps], tolerance=tolerance, patience=patience
    ):
        return REASON_LEVELLED
    return None
