"""What the ResultsExplorer shows, as plain functions over the Describe-shaped result.

The frame, ranking, charts and report come from ``irkit.results``, ``irkit.results.ranking``,
``irkit.results.charts.core`` and ``irkit.results.report``; this module only turns them into HTML for the panel.
"""

from __future__ import annotations

import html
import math
from typing import Any


def ranked_frame(result: dict[str, Any], cost: int, latency: int, throughput: int) -> Any:
    """Recommendation rows ranked best first (``score``, ``rank``, ``pareto``); importances are 1-5."""
    from irkit import results
    from irkit.results import ranking

    frame = results.to_frame(result or {})
    return ranking.recommend(frame, cost, latency, throughput)


def environment_text(row: Any, env_columns: list[str]) -> str:
    parts = [f"{c}={row[c]}" for c in env_columns if isinstance(row[c], str) and row[c]]
    return ", ".join(parts) or "container defaults"


def table_html(ranked: Any) -> str:
    from irkit import results as R

    if ranked is None or ranked.empty:
        return "<i>No recommendations yet.</i>"
    env = R.env_columns(ranked)
    head = (
        "<tr><th>#</th><th>Instance type</th><th>Environment</th><th>$ / hour</th><th>$ / 1M inferences</th>"
        "<th>Max requests / min</th><th>Latency (ms)</th><th>Score</th></tr>"
    )
    body = []
    for i, row in ranked.iterrows():
        body.append(
            f"<tr><td>{i + 1}</td><td>{html.escape(str(row[R.INSTANCE_TYPE]))}</td>"
            f"<td>{html.escape(environment_text(row, env))}</td>"
            f"<td>{_num(row[R.COST_PER_HOUR], 3)}</td><td>{_num(_per_million(row[R.COST_PER_INFERENCE]), 2)}</td>"
            f"<td>{_num(row[R.MAX_INVOCATIONS], 0)}</td><td>{_num(row[R.MODEL_LATENCY_MS], 0)}</td>"
            f"<td>{float(row['score']):.2f}</td></tr>"
        )
    return (
        "<table class='irkit-table' style='border-collapse:collapse;font-size:0.9em' border='1' "
        f"cellpadding='4'>{head}{''.join(body)}</table>"
    )


def card_html(ranked: Any) -> str:
    """The recommendation card for the top-ranked row (or the empty state)."""
    from irkit import results as R

    if ranked is None or ranked.empty:
        return (
            "<div style='border:1px dashed #999;padding:10px;border-radius:6px;color:#555;max-width:760px'>"
            "The recommendation appears here when a job finishes.</div>"
        )
    best = ranked.iloc[0]
    estimate = str(best.get(R.PRICE_IS_ESTIMATE)) == "True"  # NA (unknown) is not an estimate
    note = " (estimated price of a local CPU set)" if estimate else ""
    return (
        "<div class='irkit-recommendation' style='border:2px solid #1b5e20;padding:10px 14px;border-radius:6px;"
        "background:#f1f8e9;max-width:760px'>"
        "<div style='font-size:0.9em;color:#555'>Recommendation</div>"
        f"<div style='font-size:1.4em;font-weight:bold'>{html.escape(str(best[R.INSTANCE_TYPE]))}</div>"
        f"<div>Environment: {html.escape(environment_text(best, R.env_columns(ranked)))}</div>"
        f"<div>Serves up to <b>{_num(best[R.MAX_INVOCATIONS], 0)} requests/minute</b> at "
        f"<b>{_num(best[R.MODEL_LATENCY_MS], 0)} ms</b> latency, for <b>${_num(best[R.COST_PER_HOUR], 3)}/hour</b>"
        f"{note} (${_num(_per_million(best[R.COST_PER_INFERENCE]), 2)} per million inferences).</div></div>"
    )


def charts(result: dict[str, Any], ranked: Any) -> list[Any]:
    """Cost vs latency (Pareto), max invocations per configuration, and the step curves when known."""
    from irkit.results import charts as C
    from irkit.results.report import latency_threshold_ms

    drawn = C.result_charts(
        result,
        ranked=ranked if ranked is not None and len(ranked) else None,
        threshold_ms=latency_threshold_ms(result),
    )
    return list(drawn.values())


def report_html(result: dict[str, Any], cost: int, latency: int, throughput: int) -> str:
    """irkit.results.report's self-contained HTML page, ranked with the panel's importances."""
    from irkit.results import report

    return str(report.render_html(result, cost=cost, latency=latency, throughput=throughput))


def _per_million(cost_per_inference: Any) -> float | None:
    return None if cost_per_inference is None else float(cost_per_inference) * 1e6


def _num(value: Any, digits: int) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(number) else f"{number:,.{digits}f}"
