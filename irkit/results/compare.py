"""Compare two jobs configuration by configuration, and tell a regression.

``compare(baseline, current)`` matches rows on ``config`` (instance type + env) and gives, for each
metric, both values and the signed change in percent: ``(current - baseline) / baseline * 100``.
So a positive ``max_invocations_delta_pct`` is more throughput, a positive
``model_latency_ms_delta_pct`` is slower. ``regressions(...)`` lists the configurations whose
throughput dropped, or whose latency rose, by more than ``pct`` percent (the direction of "worse" is
each metric's record in ``irkit.results.metrics``); scheduled runs use it for
``--fail-on-regression``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from irkit.errors import RegressionError
from irkit.results.frame import CONFIG, KIND, KIND_RECOMMENDATION, to_frame
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_INFERENCE,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    metric,
)

if TYPE_CHECKING:
    import pandas as pd

COMPARED_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_INFERENCE, COST_PER_HOUR)
# a change for the worse in one of these (by its record's higher_is_better) beyond pct is a regression
REGRESSION_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS)
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
    for column in COMPARED_METRICS:
        old = merged[f"{column}{BASELINE_SUFFIX}"].astype("float64")
        new = merged[f"{column}{CURRENT_SUFFIX}"].astype("float64")
        merged[delta_column(column)] = ((new - old) / old.where(old != 0) * 100).round(2)
    columns = [CONFIG, KIND, IN_BASELINE, IN_CURRENT]
    for column in COMPARED_METRICS:
        columns += [f"{column}{BASELINE_SUFFIX}", f"{column}{CURRENT_SUFFIX}", delta_column(column)]
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
        for column in REGRESSION_METRICS:
            m, delta = metric(column), row[delta_column(column)]
            if m.worse(delta, pct):
                word = "rose" if delta > 0 else "dropped"
                found.append(Regression(config, column, delta, (
                    f"{config}: {m.label} {word} {abs(delta):.1f}% ({m.format(row[column + BASELINE_SUFFIX])}"
                    f" -> {m.format(row[column + CURRENT_SUFFIX])} {m.unit})")))
    return found


def check_regression(
    baseline: Any, current: Any, pct: float = DEFAULT_REGRESSION_PCT, **kwargs: Any
) -> None:
    """Raise ``RegressionError`` (CLI exit code 3) listing every regression beyond ``pct`` percent."""
    found = regressions(baseline, current, pct, **kwargs)
    if found:
        lines = "\n".join(f"  {r.message}" for r in found)
        raise RegressionError(f"{len(found)} regression(s) beyond {pct:g}% against the baseline:\n{lines}")
