"""Fidelity in the results: how close each configuration's answers are to TensorFlow's.

A local job over the runtime axis (``IRKIT_RUNTIME`` / ``IRKIT_PRECISION``, docs/runtimes.md) records
``irkit.configs[i].fidelity = {top1_agreement, top5_agreement, max_abs_diff, cosine, ...}`` for each
configuration served by another runtime than TensorFlow fp32 (``irkit.serve.fidelity`` measures it).
``to_frame`` turns it into the columns ``FIDELITY_COLUMNS``:

- a measured configuration gets its figures;
- a TensorFlow fp32 configuration of a job that has measured ones is the reference itself: 1.0
  agreement and cosine, 0 difference (by definition, not measured);
- everything else (no runtime axis, SageMaker, a measurement that failed) is NaN.

``floor_mask`` is what ``ranking.recommend(min_top1_agreement=, min_top5_agreement=, min_cosine=)`` keeps:
rows at or above each floor; a NaN never passes a floor, except in a frame with no fidelity at all
(every row is TensorFlow then, the reference). ``table_metrics`` puts the fidelity columns beside
cost in the plain-text and HTML tables whenever a frame has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irkit.errors import IrkitError
from irkit.results.metrics import (
    COST_PER_MILLION,
    FIDELITY_COSINE,
    FIDELITY_MAX_ABS_DIFF,
    FIDELITY_TOP1,
    FIDELITY_TOP5,
    as_number,
    metric,
)
from irkit.spec.runtimes import PRECISION_ENV, RUNTIME_ENV, RuntimeChoiceError, runtime_choice

if TYPE_CHECKING:
    import pandas as pd

FIDELITY_COLUMNS = (FIDELITY_TOP1, FIDELITY_TOP5, FIDELITY_COSINE, FIDELITY_MAX_ABS_DIFF)
# irkit.configs[i].fidelity key -> frame column
RESULT_KEYS = {"top1_agreement": FIDELITY_TOP1, "top5_agreement": FIDELITY_TOP5, "cosine": FIDELITY_COSINE,
               "max_abs_diff": FIDELITY_MAX_ABS_DIFF}
REFERENCE_VALUES = {FIDELITY_TOP1: 1.0, FIDELITY_TOP5: 1.0, FIDELITY_COSINE: 1.0, FIDELITY_MAX_ABS_DIFF: 0.0}
# ranking.recommend's floor arguments -> the column each one bounds from below
FLOORS = {"min_top1_agreement": FIDELITY_TOP1, "min_top5_agreement": FIDELITY_TOP5, "min_cosine": FIDELITY_COSINE}
TABLE_FIDELITY = (FIDELITY_TOP1, FIDELITY_TOP5, FIDELITY_COSINE)  # what tables show beside cost
FLOOR_ATTR = "fidelity_floor"  # key in a ranked frame's attrs: the floors it was filtered with


class FidelityFloorError(IrkitError, ValueError):
    """A floor outside 0..1."""


def is_reference(env: Mapping[str, Any]) -> bool:
    """True when ``env`` serves with TensorFlow at fp32 (the default), whose answers are the reference."""
    try:
        return runtime_choice({k: str(v) for k, v in env.items() if k in (RUNTIME_ENV, PRECISION_ENV)
                               and v is not None and v == v}, flags=("avx512_bf16",)).is_reference
    except RuntimeChoiceError:
        return False


def result_has_fidelity(result: Mapping[str, Any]) -> bool:
    return any(isinstance(c.get("fidelity"), Mapping) for c in (result.get("irkit") or {}).get("configs") or [])


def row_fidelity(config: Mapping[str, Any] | None, env: Mapping[str, Any], job_has_fidelity: bool) -> dict[str, Any]:
    """The FIDELITY_COLUMNS of one recommendation row (see the module docstring)."""
    measured = (config or {}).get("fidelity")
    if isinstance(measured, Mapping):
        return {column: as_number(measured.get(key)) for key, column in RESULT_KEYS.items()}
    if job_has_fidelity and is_reference(env):
        return dict(REFERENCE_VALUES)
    return dict.fromkeys(FIDELITY_COLUMNS)


def has_fidelity(frame: pd.DataFrame) -> bool:
    """Whether any row of ``frame`` carries a fidelity figure."""
    return any(c in frame.columns and frame[c].notna().any() for c in FIDELITY_COLUMNS)


def check_floors(floors: Mapping[str, float | None]) -> dict[str, float]:
    """The floors given (None dropped), each checked to be within 0..1."""
    out = {}
    for name, value in floors.items():
        if value is None:
            continue
        number = as_number(value)
        if number is None or not 0.0 <= number <= 1.0:
            raise FidelityFloorError(f"{name}: a fidelity floor is a share from 0 to 1, got {value!r}")
        out[name] = number
    return out


def floor_mask(df: pd.DataFrame, floors: Mapping[str, float | None]) -> pd.Series:
    """True for rows at or above every floor (``FLOORS`` names); all True without floors or fidelity."""
    import pandas as pd

    keep = pd.Series(True, index=df.index)
    checked = check_floors(floors)
    if not checked or not has_fidelity(df):
        return keep
    for name, value in checked.items():
        column = FLOORS[name]
        keep &= df[column].astype("float64").fillna(-1.0) >= value
    return keep


def floor_text(floors: Mapping[str, float | None]) -> str:
    """``top-5 agreement with TensorFlow >= 99%``; empty without floors."""
    parts = []
    for name, value in check_floors(floors).items():
        m = metric(FLOORS[name])
        parts.append(f"{m.label} >= {m.format(value)}")
    return ", ".join(parts)


def table_metrics(frame: pd.DataFrame, base: Sequence[str]) -> tuple[str, ...]:
    """``base`` with the fidelity columns after cost per 1M inferences, when ``frame`` has fidelity."""
    if not has_fidelity(frame) or FIDELITY_TOP1 in base:
        return tuple(base)
    columns = list(base)
    at = columns.index(COST_PER_MILLION) + 1 if COST_PER_MILLION in columns else len(columns)
    return tuple(columns[:at] + list(TABLE_FIDELITY) + columns[at:])


def report_notes(recs: pd.DataFrame, ranked: pd.DataFrame) -> list[str]:
    """What the report says about fidelity: how it was measured, and what a floor left out of ``recs``
    (the recommendation rows)."""
    if not has_fidelity(recs):
        return []
    notes = ["Fidelity: each runtime's answers against TensorFlow's on the payload sample and a few photos "
             "scikit-image ships (top-1/top-5 agreement, cosine similarity, max abs difference); TensorFlow "
             "fp32 rows are the reference (1 by definition). With random weights top-k agreement is noisy: "
             "read the cosine."]
    floors = ranked.attrs.get(FLOOR_ATTR) or {}
    if floors:
        left_out = int((~floor_mask(recs, floors)).sum())
        if left_out:
            notes.append(f"{left_out} configuration(s) left out by the fidelity floor ({floor_text(floors)}).")
    return notes
