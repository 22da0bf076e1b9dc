"""One record per metric: its frame column, Describe key, label, unit, direction and number format.

Ranking, compare, charts, the HTML report, the widgets' results view and ``summary_text`` all read
these records, so no module keeps its own list of labels, units or "higher is better":

    >>> from irkit.results.metrics import metric, MAX_INVOCATIONS
    >>> m = metric(MAX_INVOCATIONS)
    >>> m.title, m.higher_is_better, m.format(1234.0)
    ('max invocations (requests/min)', True, '1,234')

The column constants here are the frame's names (``irkit.results`` re-exports them). ``fmt`` is a
format spec valid both in Python's ``format()`` and in d3-format (Vega-Lite tooltips and axes).
A derived metric (``cost_per_million``) names its ``source`` column and the ``factor`` applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from irkit.errors import IrkitError

if TYPE_CHECKING:
    import pandas as pd

# ---- recommendation metrics (to_frame columns; IR's Metrics keys) --------------------------------
COST_PER_HOUR = "cost_per_hour"
COST_PER_INFERENCE = "cost_per_inference"
MAX_INVOCATIONS = "max_invocations"
MODEL_LATENCY_MS = "model_latency_ms"
CPU_UTILIZATION = "cpu_utilization"
MEMORY_UTILIZATION = "memory_utilization"
MODEL_SETUP_TIME = "model_setup_time"
COST_PER_MILLION = "cost_per_million"  # derived: cost_per_inference x 1e6
SCORE = "score"  # ranking: 0..1, higher is better
# fidelity against TensorFlow (irkit.configs[i].fidelity; irkit.results.fidelity): another runtime's answers
FIDELITY_TOP1 = "fidelity_top1"  # share of samples whose top class is TensorFlow's
FIDELITY_TOP5 = "fidelity_top5"  # share of samples whose top 5 hold TensorFlow's top class
FIDELITY_COSINE = "fidelity_cosine"  # mean cosine similarity of the outputs
FIDELITY_MAX_ABS_DIFF = "fidelity_max_abs_diff"  # largest absolute difference of any output value
# ---- per-step metrics (steps_frame columns) ------------------------------------------------------
REQUESTS = "requests"
ERRORS = "errors"
ERROR_RATE = "error_rate"
RPS = "rps"
GOODPUT_RPS = "goodput_rps"
P50_MS, P90_MS, P95_MS, P99_MS, MAX_MS = "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"
SERVER_CPU = "server_cpu"
SERVER_MEMORY = "server_memory"
# ---- per-model metrics (per_model_frame / model_summary columns) ---------------------------------
COLD_REQUESTS = "cold_requests"
COLD_P50_MS, COLD_P99_MS = "cold_p50_ms", "cold_p99_ms"
WARM_P50_MS, WARM_P99_MS = "warm_p50_ms", "warm_p99_ms"
HIT_RATE = "hit_rate"
LOADS = "loads"
LOAD_MS_MEAN = "load_ms_mean"
SHARE = "share"


class MetricError(IrkitError, KeyError):
    """A metric name that has no record."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown metric"


@dataclass(frozen=True)
class Metric:
    """What a metric is and how to show it. ``higher_is_better`` is None when neither holds."""

    column: str
    label: str
    unit: str
    higher_is_better: bool | None
    fmt: str
    describe_key: str | None = None  # the key in a Describe answer's Metrics
    short: str = ""  # the header of a plain-text table column
    source: str | None = None  # a derived metric: the column it is computed from...
    factor: float = 1.0  # ...times this

    @property
    def title(self) -> str:
        """``label (unit)``: axis titles, table headers."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def header(self) -> str:
        """The plain-text table header (``short``, else ``title``)."""
        return self.short or self.title

    @property
    def direction(self) -> str:
        """``higher is better``, ``lower is better`` or an empty string."""
        if self.higher_is_better is None:
            return ""
        return "higher is better" if self.higher_is_better else "lower is better"

    def format(self, value: Any, missing: str = "-") -> str:
        """``value`` in this metric's number format; ``missing`` for None or NaN."""
        number = as_number(value)
        return missing if number is None else format(number, self.fmt)

    def with_unit(self, value: Any, missing: str = "-") -> str:
        """The formatted value with its unit: ``1,396 requests/min``, ``$0.0850/hour``, ``99%``."""
        text = self.format(value, missing)
        if text == missing or not self.unit or self.unit == "0-1":
            return text
        if self.unit.startswith("$"):
            return f"${text}{self.unit[1:]}"
        return f"{text}{self.unit}" if self.unit == "%" else f"{text} {self.unit}"

    def worse(self, delta_pct: float, pct: float) -> bool:
        """Whether a signed change of ``delta_pct`` % is a regression beyond ``pct`` %."""
        if self.higher_is_better is None or delta_pct != delta_pct:  # NaN-safe
            return False
        return delta_pct < -pct if self.higher_is_better else delta_pct > pct


def as_number(value: Any) -> float | None:
    """A float, or None for None, NaN, pandas NA and text."""
    if value is None or isinstance(value, (bool, str)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


_RECORDS = (
    Metric(COST_PER_HOUR, "cost per hour", "$/hour", False, ",.4f", "CostPerHour", "$/hour"),
    Metric(COST_PER_INFERENCE, "cost per inference", "$", False, ".3g", "CostPerInference", "$/inf"),
    Metric(MAX_INVOCATIONS, "max invocations", "requests/min", True, ",.0f", "MaxInvocations", "req/min"),
    Metric(MODEL_LATENCY_MS, "model latency", "ms", False, ",.0f", "ModelLatency", "latency ms"),
    Metric(CPU_UTILIZATION, "CPU", "%", None, ".0f", "CpuUtilization", "CPU %"),
    Metric(MEMORY_UTILIZATION, "memory", "%", None, ".0f", "MemoryUtilization", "memory %"),
    Metric(MODEL_SETUP_TIME, "model setup time", "s", False, ".1f", "ModelSetupTime", "setup s"),
    Metric(COST_PER_MILLION, "cost per 1M inferences", "$", False, ",.3f", None, "$/1M inf",
           source=COST_PER_INFERENCE, factor=1e6),
    Metric(SCORE, "score", "0-1", True, ".2f", None, "score"),
    Metric(FIDELITY_TOP1, "top-1 agreement with TensorFlow", "", True, ".1%", None, "top-1"),
    Metric(FIDELITY_TOP5, "top-5 agreement with TensorFlow", "", True, ".1%", None, "top-5"),
    Metric(FIDELITY_COSINE, "cosine similarity to TensorFlow", "0-1", True, ".5f", None, "cosine"),
    Metric(FIDELITY_MAX_ABS_DIFF, "max abs difference from TensorFlow", "", False, ".2g", None, "max diff"),
    Metric(REQUESTS, "requests", "", None, ",.0f", None, "requests"),
    Metric(ERRORS, "errors", "", False, ",.0f", None, "errors"),
    Metric(ERROR_RATE, "error rate", "", False, ".1%", None, "errors %"),
    Metric(RPS, "throughput", "req/s", True, ".1f", None, "req/s"),
    Metric(GOODPUT_RPS, "goodput", "req/s", True, ".1f", None, "goodput"),
    Metric(P50_MS, "p50", "ms", False, ".1f", None, "p50 ms"),
    Metric(P90_MS, "p90", "ms", False, ".1f", None, "p90 ms"),
    Metric(P95_MS, "p95", "ms", False, ".1f", None, "p95 ms"),
    Metric(P99_MS, "p99", "ms", False, ".1f", None, "p99 ms"),
    Metric(MAX_MS, "max latency", "ms", False, ".1f", None, "max ms"),
    Metric(SERVER_CPU, "server CPU", "%", None, ".0f", None, "CPU %"),
    Metric(SERVER_MEMORY, "server memory", "%", None, ".0f", None, "memory %"),
    Metric(COLD_REQUESTS, "cold answers", "", None, ",.0f", None, "cold"),
    Metric(COLD_P50_MS, "cold p50", "ms", False, ".1f", None, "cold p50"),
    Metric(COLD_P99_MS, "cold p99", "ms", False, ".1f", None, "cold p99"),
    Metric(WARM_P50_MS, "warm p50", "ms", False, ".1f", None, "warm p50"),
    Metric(WARM_P99_MS, "warm p99", "ms", False, ".1f", None, "warm p99"),
    Metric(HIT_RATE, "hit rate", "", True, ".0%", None, "hit rate"),
    Metric(LOADS, "model loads", "", None, ",.0f", None, "loads"),
    Metric(LOAD_MS_MEAN, "mean model load", "ms", False, ".1f", None, "load ms"),
    Metric(SHARE, "share of requests", "", None, ".0%", None, "share"),
)
METRICS: Mapping[str, Metric] = MappingProxyType({m.column: m for m in _RECORDS})
# the metrics of a Describe answer's InferenceRecommendations[].Metrics, in IR's order
DESCRIBE_METRICS: tuple[Metric, ...] = tuple(m for m in _RECORDS if m.describe_key)


def metric(column: str) -> Metric:
    """The record of ``column``; ``MetricError`` names the known ones when there is none."""
    try:
        return METRICS[column]
    except KeyError:
        raise MetricError(f"metric {column!r}: no such metric (known: {', '.join(METRICS)})") from None


def add_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with each derived metric whose source column it has (cost_per_million)."""
    out = frame.copy()
    for record in _RECORDS:
        if record.source and record.source in out.columns:
            out[record.column] = out[record.source].astype("float64") * record.factor
    return out


def derived_value(record: Mapping[str, Any], column: str) -> float | None:
    """One row's value of ``column``, computed from its source when ``column`` is derived."""
    m = metric(column)
    if m.source is None:
        return as_number(record.get(column))
    source = as_number(record.get(m.source))
    return None if source is None else source * m.factor
