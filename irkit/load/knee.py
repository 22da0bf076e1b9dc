"""Find MaxInvocations on a load curve: the knee, where throughput levels off or the latency SLO is crossed.

Pure functions over STEP dicts (docs/architecture.md): no I/O, no clock, so every rule here is
tested on synthetic curves. Throughput is req/s in a step; MaxInvocations is req/min.

The rules, in order:
1. A step *breaks the SLO* when its latency at the spec's percentile exceeds the threshold or more
   than ``MAX_ERROR_RATE`` of its requests failed. Only the steps before the first broken one count.
2. Each counted step's throughput is the mean of its windows with a 95% interval (estimate.py).
   The *best* step is the one with the highest mean.
3. The *knee* is the first step whose throughput cannot be told apart from the best's (intervals
   overlap within 10%, or within 5%): IR's "where the invocations first level off". MaxInvocations is the
   knee's own mean (never a maximum over noisy steps, which reads high), with the knee's interval,
   and ModelLatency is read there, never at a later step that only adds queueing.
4. The curve *levelled out* when, after the best step so far, ``patience`` steps in a row failed to
   raise throughput by more than ``tolerance``. ``stop_reason`` uses this to end a test early
   (``flat_invocations: Stop``).

The knee search (knee_search.py) reads its levels the same way, ordered by users.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    ``by_users``: read the steps in order of users (a knee search measures levels out of order);
    ``step_index`` still indexes ``steps`` as given.
    """
    order = sorted(range(len(steps)), key=lambda i: (steps[i].get("users") or 0, i)) if by_users \
        else list(range(len(steps)))
    within: list[int] = []
    crossed: str | None = None
    for i in order:
        crossed = breaks_slo(steps[i], threshold_ms, percentile)
        if crossed:
            break
        within.append(i)
    usable = [i for i in within if (steps[i].get("requests") or 0) > 0 and _rps(steps[i]) > 0]
    if not usable:
        return Plateau(-1, 0, 0.0, None, crossed or REASON_NO_DATA)
    levels = [estimate.level_estimate(i, steps[i]) for i in usable]
    knee = estimate.knee_level(levels)
    assert knee is not None
    step = steps[knee.index]
    latency = step.get(percentile_key(percentile))
    if crossed:
        reason = crossed
    elif levelled_out([_rps(steps[i]) for i in within], tolerance=tolerance, patience=patience) \
            or knee.index != usable[-1]:
        reason = REASON_LEVELLED
    else:
        reason = REASON_NOT_SATURATED
    return Plateau(knee.index, int(round(knee.mean * 60)), knee.mean, None if latency is None else float(latency),
                   reason, estimate.per_minute(knee.rps), knee.stable, int(step.get("users") or 0))


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
