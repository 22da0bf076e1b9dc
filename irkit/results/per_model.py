"""Per-model results of multi-model / multi-container load as tidy DataFrames.

A result of a load with ``target_models`` (local backend, or a SageMaker endpoint benchmark) has
``irkit.per_model``: one entry per (config, step, target); see docs/architecture.md (PER_MODEL).

- ``per_model_frame(result)``: those entries, one row per (config, step, target), columns below;
- ``model_summary(result_or_frame)``: one row per (config, target) over the whole run, with each
  target's ``share`` of the config's requests.

Summing steps: counts are added; ``hit_rate`` is hits over cache-reporting answers (recovered from
each step's rate x requests); ``p50_ms``, ``warm_p50_ms`` and ``cold_p50_ms`` are the request-weighted
mean of the steps' values; the p95/p99 columns are the worst step's (a conservative tail). Latencies
are milliseconds; a figure the server did not report (cold/warm on SageMaker) is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irkit.results.frame import JOB, load_result
from irkit.results.metrics import (  # the per-model metrics' names and records
    COLD_P50_MS,
    COLD_P99_MS,
    COLD_REQUESTS,
    ERROR_RATE,
    ERRORS,
    HIT_RATE,
    LOAD_MS_MEAN,
    LOADS,
    P50_MS,
    P95_MS,
    P99_MS,
    REQUESTS,
    SHARE,
    WARM_P50_MS,
    WARM_P99_MS,
)

if TYPE_CHECKING:
    import pandas as pd

CONFIG = "config"
STEP = "step"
TARGET = "target"  # the label: model, container, or container/model
MODEL = "model"
CONTAINER = "container"
# REQUESTS, ERRORS, ERROR_RATE, P50/95/99_MS, COLD_*, WARM_*, HIT_RATE (0..1), LOADS, LOAD_MS_MEAN and
# SHARE (model_summary: the target's share of its config's requests, 0..1) come from irkit.results.metrics

PER_MODEL_COLUMNS = (
    JOB, CONFIG, STEP, TARGET, MODEL, CONTAINER, REQUESTS, ERRORS, ERROR_RATE, P50_MS, P95_MS, P99_MS,
    COLD_REQUESTS, COLD_P50_MS, COLD_P99_MS, WARM_P50_MS, WARM_P99_MS, HIT_RATE, LOADS, LOAD_MS_MEAN,
)
SUMMARY_COLUMNS = (
    JOB, CONFIG, TARGET, MODEL, CONTAINER, REQUESTS, SHARE, ERRORS, ERROR_RATE, P50_MS, P95_MS, P99_MS,
    COLD_REQUESTS, COLD_P50_MS, COLD_P99_MS, WARM_P50_MS, WARM_P99_MS, HIT_RATE, LOADS, LOAD_MS_MEAN,
)
_TEXT = (JOB, CONFIG, TARGET, MODEL, CONTAINER)
_WEIGHTED = (P50_MS, COLD_P50_MS, WARM_P50_MS, LOAD_MS_MEAN)
_WORST = (P95_MS, P99_MS, COLD_P99_MS, WARM_P99_MS)


def per_model_frame(result: Any, *, store: Any = None) -> pd.DataFrame:
    """``irkit.per_model`` as one row per (config, step, target); empty (same columns) without it."""
    import pandas as pd

    result = load_result(result, store=store)
    rows = []
    for entry in (result.get("irkit") or {}).get("per_model") or []:
        row = {k: entry.get(k) for k in PER_MODEL_COLUMNS if k in entry}
        row[JOB] = result.get("JobName")
        row[CONFIG] = entry.get("config_id")
        row[TARGET] = entry.get("target") or entry.get("model") or entry.get("container")
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=list(PER_MODEL_COLUMNS))
    for column in PER_MODEL_COLUMNS:
        if column not in _TEXT:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame[ERROR_RATE] = (frame[ERRORS] / frame[REQUESTS].where(frame[REQUESTS] > 0)).fillna(0.0)
    return frame


def model_summary(source: Any, *, store: Any = None) -> pd.DataFrame:
    """One row per (config, target) over all steps, most requested first; ``source`` is a result or
    ``per_model_frame(...)``."""
    import pandas as pd

    frame = source if isinstance(source, pd.DataFrame) else per_model_frame(source, store=store)
    rows = []
    for (config, target), group in frame.groupby([CONFIG, TARGET], sort=False, dropna=False):
        rows.append(_summary_row(config, target, group))
    out = pd.DataFrame(rows).reindex(columns=list(SUMMARY_COLUMNS))
    for column in SUMMARY_COLUMNS:
        if column not in _TEXT:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    if len(out):
        totals = out.groupby(CONFIG, dropna=False)[REQUESTS].transform("sum")
        out[SHARE] = out[REQUESTS] / totals.where(totals > 0)
        out = out.sort_values([CONFIG, REQUESTS, TARGET], ascending=[True, False, True]).reset_index(drop=True)
    return out


def _summary_row(config: Any, target: Any, group: pd.DataFrame) -> dict[str, Any]:
    requests = float(group[REQUESTS].sum())
    row: dict[str, Any] = {
        JOB: group[JOB].iloc[0], CONFIG: config, TARGET: target,
        MODEL: group[MODEL].dropna().iloc[0] if group[MODEL].notna().any() else None,
        CONTAINER: group[CONTAINER].dropna().iloc[0] if group[CONTAINER].notna().any() else None,
        REQUESTS: requests, ERRORS: float(group[ERRORS].sum()),
        ERROR_RATE: float(group[ERRORS].sum()) / requests if requests else 0.0,
    }
    for column in (COLD_REQUESTS, LOADS):
        row[column] = float(group[column].sum()) if group[column].notna().any() else None
    for column in _WEIGHTED:
        row[column] = _weighted_mean(group, column)
    for column in _WORST:
        row[column] = float(group[column].max()) if group[column].notna().any() else None
    known = group[HIT_RATE].notna()
    if known.any():
        answered = group.loc[known, REQUESTS]
        row[HIT_RATE] = float((group.loc[known, HIT_RATE] * answered).sum() / answered.sum()) if answered.sum() else None
    else:
        row[HIT_RATE] = None
    return row


def _weighted_mean(group: pd.DataFrame, column: str) -> float | None:
    weights = {COLD_P50_MS: COLD_REQUESTS, WARM_P50_MS: None, LOAD_MS_MEAN: LOADS}.get(column, REQUESTS)
    values = group[column]
    if weights is None:  # warm answers per step = requests - errors - cold requests
        w = group[REQUESTS] - group[ERRORS] - group[COLD_REQUESTS].fillna(0.0)
    else:
        w = group[weights]
    mask = values.notna() & w.notna() & (w > 0)
    if not mask.any():
        return None
    return float((values[mask] * w[mask]).sum() / w[mask].sum())


def has_per_model(result: Any) -> bool:
    """Whether a result carries per-model figures (a load with ``target_models``)."""
    data = result if isinstance(result, Mapping) else load_result(result)
    return bool((data.get("irkit") or {}).get("per_model"))
