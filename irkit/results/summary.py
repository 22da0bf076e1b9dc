"""A plain-text summary of a right-size result: what ``irkit recommend`` prints and notebooks 04/05 show.

``summary_text(result)`` lists the recommendations in rank order (``ranking.recommend``, the same
pick as ``irkit jobs show``, ``irkit report`` and the app, with ``DEFAULT_IMPORTANCES`` unless told
otherwise), the benchmarked endpoints, the ``recommended:`` line naming the importances used, the
per-model table of a multi-model load (``per_model.model_summary``) and the warnings. Headers,
units and number formats come from ``irkit.results.metrics``. When the result says how sure its
numbers are (``irkit.results.confidence``), MaxInvocations reads ``558 [541-575]`` (its 95% interval),
a ``notes`` column flags unstable configurations, a load generator on the server's cores and ties
within measurement noise, and ``noise:`` lines say what separates tied configurations.
"""

from __future__ import annotations

from typing import Any

from irkit.results import confidence as Q
from irkit.results.frame import CONFIG, ENDPOINT_NAME, KIND, KIND_ENDPOINT, short_label, to_frame
from irkit.results.metrics import (
    COLD_P50_MS,
    COLD_REQUESTS,
    COST_PER_HOUR,
    COST_PER_MILLION,
    CPU_UTILIZATION,
    ERRORS,
    HIT_RATE,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    MODEL_SETUP_TIME,
    P50_MS,
    REQUESTS,
    SCORE,
    WARM_P50_MS,
    add_derived,
    metric,
)
from irkit.results.per_model import CONFIG as MODEL_CONFIG
from irkit.results.per_model import TARGET, model_summary
from irkit.results.ranking import RANK, recommend, recommendation_line, tie_marks, tie_notes

# the columns of the recommendations table, in order
TABLE_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_HOUR, COST_PER_MILLION, CPU_UTILIZATION,
                 MODEL_SETUP_TIME, SCORE)
PER_MODEL_METRICS = (REQUESTS, ERRORS, P50_MS, COLD_REQUESTS, COLD_P50_MS, WARM_P50_MS, HIT_RATE)
ENDPOINT_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS)
CONFIG_WIDTH = 72  # at most this many characters of a configuration label in the table
TARGET_WIDTH = 30


def summary_text(
    result: dict[str, Any],
    cost: int | None = None,
    latency: int | None = None,
    throughput: int | None = None,
) -> str:
    """The result as plain text: ranked recommendations, endpoints, the pick, per-model rows, warnings.

    ``cost``, ``latency``, ``throughput`` are importances 1-5 (default ``DEFAULT_IMPORTANCES``).
    """
    lines = [f"{result.get('JobName')}: {result.get('Status')}"
             + (f" ({result['FailureReason']})" if result.get("FailureReason") else "")]
    frame = to_frame(result)
    levels = {k: v for k, v in (("cost", cost), ("latency", latency), ("throughput", throughput)) if v is not None}
    ranked = recommend(frame, **levels)
    if len(ranked):
        lines += _table(ranked)
    for row in Q.with_quality(frame[frame[KIND] == KIND_ENDPOINT]).to_dict("records"):
        figures = ", ".join(f"{metric(c).label} {_value(row, c)} {metric(c).unit}" for c in ENDPOINT_METRICS)
        flagged = "; ".join(Q.flags(row))
        lines.append(f"endpoint {row[ENDPOINT_NAME]}: {figures}" + (f" ({flagged})" if flagged else ""))
    if len(ranked):
        lines.append(recommendation_line(ranked))
        lines += [f"noise: {note}" for note in tie_notes(ranked)]
    lines += per_model_lines(result)
    extra = result.get("irkit") or {}
    for config in extra.get("configs") or []:
        for warning in config.get("warnings") or []:
            lines.append(f"warning: {config['config_id']}: {warning}")
    lines += [f"warning: {w}" for w in extra.get("warnings") or []]
    lines += [f"warning: {note}" for note in Q.notes(result)]
    return "\n".join(lines)


def _value(row: dict[str, Any], column: str) -> str:
    """A cell: MaxInvocations with its 95% interval when known (``558 [541-575]``), else the record's format."""
    if column == MAX_INVOCATIONS and row.get(Q.CI_TEXT):
        return Q.with_interval(row.get(column), row.get(Q.MAX_INVOCATIONS_LO), row.get(Q.MAX_INVOCATIONS_HI),
                               metric(column).fmt)
    return metric(column).format(row.get(column))


def _table(ranked: Any) -> list[str]:
    from irkit.results.fidelity import table_metrics

    return table_lines(ranked, table_metrics(ranked, TABLE_METRICS))  # fidelity beside cost when measured


def table_lines(ranked: Any, columns: tuple[str, ...] = TABLE_METRICS, *, width_limit: int = CONFIG_WIDTH) -> list[str]:
    """A ``recommend`` frame as plain-text lines: rank, configuration, ``columns`` (metric columns), notes.

    The notes column is there when a row is flagged (unstable, generator on the server's cores) or
    tied with the pick within measurement noise.
    """
    frame = Q.with_quality(add_derived(ranked))
    marks = tie_marks(ranked)
    shown = frame.to_dict("records")
    records = [metric(c) for c in columns]
    labels = [short_label(row[CONFIG])[:width_limit] for row in shown]
    cells = [[_value(row, m.column) for m in records] for row in shown]
    notes = ["; ".join(x for x in (mark, row[Q.FLAGS]) if x) for mark, row in zip(marks, shown, strict=True)]
    width = max([len("configuration"), *map(len, labels)])
    widths = [max([len(m.header), *(len(c[i]) for c in cells)]) for i, m in enumerate(records)]
    tail = any(notes)
    lines = [f"{'#':>2} {'configuration':<{width}} "
             + " ".join(f"{m.header:>{w}}" for m, w in zip(records, widths, strict=True)) + ("  notes" if tail else "")]
    for row, label, values, note in zip(shown, labels, cells, notes, strict=True):
        lines.append(f"{row[RANK]:>2} {label:<{width}} "
                     + " ".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=True)) + (f"  {note}" if note else ""))
    return lines


def per_model_lines(result: dict[str, Any]) -> list[str]:
    """Multi-model load: one line per (config, target) from ``per_model.model_summary``; [] without it."""
    if not (result.get("irkit") or {}).get("per_model"):
        return []
    summary = model_summary(result)
    records = [metric(c) for c in PER_MODEL_METRICS]
    widths = [max(len(m.header), 6) for m in records]
    lines = [f"{'per model':<{TARGET_WIDTH}} " + " ".join(f"{m.header:>{w}}" for m, w in zip(records, widths, strict=True))]
    several = summary[MODEL_CONFIG].nunique(dropna=False) > 1
    for row in summary.to_dict("records"):
        label = f"{row[MODEL_CONFIG]} {row[TARGET]}" if several else str(row[TARGET])
        cells = " ".join(f"{m.format(row.get(m.column)):>{w}}" for m, w in zip(records, widths, strict=True))
        lines.append(f"{label[:TARGET_WIDTH]:<{TARGET_WIDTH}} {cells}")
    return lines
