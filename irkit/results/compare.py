"""Compare two jobs configuration by configuration, and tell a regression.

``compare(baseline, current)`` matches rows on ``config`` (instance type + env) and gives, for each
metric, both values and the signed change in percent: ``(current - baseline) / baseline * 100``.
So a positive ``max_invocations_delta_pct`` is more throughput, a positive
``model_latency_ms_delta_pct`` is slower. ``regressions(...)`` lists the configurations whose
throughput dropped, or whose latency rose, by more than ``pct`` percent; scheduled runs use it for
``--fail-on-regression``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from irkit.errors import RegressionError
from irkit.results import (
    CONFIG,
    COST_PER_HOUR,
    COST_PER_INFERENCE,
    KIND,
    KIND_RECOMMENDATION,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    to_frame,
)

if TYPE_CHECKING:
    import pandas as pd

COMPARED_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_INFERENCE, COST_PER_HOUR)
BASELINE_SUFFIX = "_baseline"
CURRENT_SUFFIX = "_current"
DELTA_SUFFIX = "_delta_pct"
IN_BASELINE = "in_baseline"
IN_CURRENT = "in_current"
DEFAULT_REGRESSION_PCT = 10.0


def delta_column(metric: str) -> str:
    return f"{metric}{DELTA_SUFFIX}"


def _frame(job: Any, store: Any) -> pd.DataFrame:
    import pandas as pd

    frame = job if isinstance(job, pd.DataFrame) else to_frame(job, store=store)
    return frame.drop_duplicates(subset=[CONFIG], keep="first")


def compare(baseline: Any, current: Any, *, store: Any = None) -> pd.DataFrame:
    """One row per configuration in either job: values, signed delta %, and where it ran.

    ``baseline`` and ``current`` are results, result files, job refs (``latest``, a job name or id)
    or ``to_frame`` frames. Configurations present in one job only have NaN deltas.
    """
    a, b = _frame(baseline, store), _frame(current, store)
    keep = [CONFIG, KIND, *COMPARED_METRICS]
    merged = a[keep].merge(
        b[keep], on=CONFIG, how="outer", suffixes=(BASELINE_SUFFIX, CURRENT_SUFFIX), indicator=True
    )
    merged[KIND] = merged[f"{KIND}{CURRENT_SUFFIX}"].fillna(merged[f"{KIND}{BASELINE_SUFFIX}"])
    merged[IN_BASELINE] = merged["_merge"].isin(["both", "left_only"])
    merged[IN_CURRENT] = merged["_merge"].isin(["both", "right_only"])
    for metric in COMPARED_METRICS:
        old = merged[f"{metric}{BASELINE_SUFFIX}"].astype("float64")
        new = merged[f"{metric}{CURRENT_SUFFIX}"].astype("float64")
        merged[delta_column(metric)] = ((new - old) / old.where(old != 0) * 100).round(2)
    columns = [CONFIG, KIND, IN_BASELINE, IN_CURRENT]
    for metric in COMPARED_METRICS:
        columns += [f"{metric}{BASELINE_SUFFIX}", f"{metric}{CURRENT_SUFFIX}", delta_column(metric)]
    return merged[columns].sort_values(CONFIG, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Regression:
    """One configuration that got worse: which metric, by how much (signed %), and a message."""

    config: str
    metric: str
    delta_pct: float | None
    message: str


def regressions(
    baseline: Any,
    current: Any,
    pct: float = DEFAULT_REGRESSION_PCT,
    *,
    missing_is_regression: bool = True,
    store: Any = None,
) -> list[Regression]:
    """Configurations whose throughput dropped or latency rose by more than ``pct`` percent.

    With ``missing_is_regression`` a recommendation the baseline had and the current job lacks
    (the config failed this time) counts too. An empty list means no regression.
    """
    if pct < 0:
        raise ValueError(f"pct: must not be negative, got {pct!r}")
    table = compare(baseline, current, store=store)
    found: list[Regression] = []
    for row in table.to_dict("records"):
        config = row[CONFIG]
        if not row[IN_CURRENT]:
            if missing_is_regression and row[KIND] == KIND_RECOMMENDATION:
                found.append(Regression(config, MAX_INVOCATIONS, None,
                                        f"{config}: in the baseline but has no result now"))
            continue
        if not row[IN_BASELINE]:
            continue
        tput = row[delta_column(MAX_INVOCATIONS)]
        lat = row[delta_column(MODEL_LATENCY_MS)]
        if tput == tput and tput < -pct:  # NaN-safe
            found.append(Regression(config, MAX_INVOCATIONS, tput, (
                f"{config}: max invocations dropped {-tput:.1f}% "
                f"({row[MAX_INVOCATIONS + BASELINE_SUFFIX]:.0f} -> {row[MAX_INVOCATIONS + CURRENT_SUFFIX]:.0f}/min)")))
        if lat == lat and lat > pct:
            found.append(Regression(config, MODEL_LATENCY_MS, lat, (
                f"{config}: model latency rose {lat:.1f}% "
                f"({row[MODEL_LATENCY_MS + BASELINE_SUFFIX]:.0f} -> {row[MODEL_LATENCY_MS + CURRENT_SUFFIX]:.0f} ms)")))
    return found


def check_regression(
    baseline: Any, current: Any, pct: float = DEFAULT_REGRESSION_PCT, **kwargs: Any
) -> None:
    """Raise ``RegressionError`` (CLI exit code 3) listing every regression beyond ``pct`` percent."""
    found = regressions(baseline, current, pct, **kwargs)
    if found:
        lines = "\n".join(f"  {r.message}" for r in found)
        raise RegressionError(f"{len(found)} regression(s) beyond {pct:g}% against the baseline:\n{lines}")
