"""What the ResultsExplorer shows, as plain functions over the Describe-shaped result.

They use ``irkit.results`` / ``irkit.ranking`` / ``irkit.charts`` when those modules provide the
function, and a small equivalent here otherwise, so the explorer works with either.
"""

from __future__ import annotations

import html
from typing import Any

COLUMNS = (
    "recommendation_id",
    "instance_type",
    "environment",
    "cost_per_hour",
    "cost_per_inference",
    "max_invocations",
    "model_latency_ms",
    "cpu_utilization",
    "memory_utilization",
)


def recommendations_frame(result: dict[str, Any]) -> Any:
    """One row per InferenceRecommendation, with the COLUMNS above."""
    import pandas as pd

    rows = []
    for rec in result.get("InferenceRecommendations") or []:
        metrics = rec.get("Metrics", {})
        env = (rec.get("ModelConfiguration") or {}).get("EnvironmentParameters") or []
        rows.append(
            {
                "recommendation_id": rec.get("RecommendationId", ""),
                "instance_type": (rec.get("EndpointConfiguration") or {}).get(
                    "InstanceType", "serverless"
                ),
                "environment": ", ".join(f"{p['Key']}={p['Value']}" for p in env) or "defaults",
                "cost_per_hour": metrics.get("CostPerHour"),
                "cost_per_inference": metrics.get("CostPerInference"),
                "max_invocations": metrics.get("MaxInvocations"),
                "model_latency_ms": metrics.get("ModelLatency"),
                "cpu_utilization": metrics.get("CpuUtilization"),
                "memory_utilization": metrics.get("MemoryUtilization"),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def rank(frame: Any, cost: float, latency: float, throughput: float) -> Any:
    """Sort by a weighted score in 0..1 (1 best): low cost/inference, low latency, high throughput."""
    if frame.empty:
        return frame.assign(score=[])

    def scaled(column: str, higher_is_better: bool) -> Any:
        values = frame[column].astype(float)
        span = values.max() - values.min()
        if not span > 0:
            return values * 0 + 1.0  # all equal: every row is as good as the best
        norm = (values - values.min()) / span
        return norm if higher_is_better else 1 - norm

    total = cost + latency + throughput
    if total <= 0:
        cost = latency = throughput = total = 1.0
    score = (
        cost * scaled("cost_per_inference", False)
        + latency * scaled("model_latency_ms", False)
        + throughput * scaled("max_invocations", True)
    ) / total
    return (
        frame.assign(score=score.round(3))
        .sort_values(["score", "cost_per_inference"], ascending=[False, True])
        .reset_index(drop=True)
    )


def table_html(ranked: Any) -> str:
    if ranked.empty:
        return "<i>No recommendations yet.</i>"
    head = (
        "<tr><th>#</th><th>Instance type</th><th>Environment</th><th>$ / hour</th><th>$ / 1M inferences</th>"
        "<th>Max requests / min</th><th>Latency (ms)</th><th>Score</th></tr>"
    )
    body = []
    for i, row in ranked.iterrows():
        body.append(
            f"<tr><td>{i + 1}</td><td>{html.escape(row.instance_type)}</td><td>{html.escape(row.environment)}</td>"
            f"<td>{_num(row.cost_per_hour, 3)}</td><td>{_num(_per_million(row.cost_per_inference), 2)}</td>"
            f"<td>{_num(row.max_invocations, 0)}</td><td>{_num(row.model_latency_ms, 0)}</td><td>{row.score:.2f}</td></tr>"
        )
    style = "border-collapse:collapse;font-size:0.9em"
    return f"<table class='irkit-table' style='{style}' border='1' cellpadding='4'>{head}{''.join(body)}</table>"


def card_html(best: Any, estimate: bool = False) -> str:
    """The recommendation card for the top-ranked row."""
    if best is None:
        return (
            "<div style='border:1px dashed #999;padding:10px;border-radius:6px;color:#555'>"
            "The recommendation appears here when a job finishes.</div>"
        )
    note = " (estimated price of a local CPU set)" if estimate else ""
    return (
        "<div class='irkit-recommendation' style='border:2px solid #1b5e20;padding:10px 14px;border-radius:6px;"
        "background:#f1f8e9;max-width:760px'>"
        f"<div style='font-size:0.9em;color:#555'>Recommendation</div>"
        f"<div style='font-size:1.4em;font-weight:bold'>{html.escape(best.instance_type)}</div>"
        f"<div>Environment: {html.escape(best.environment)}</div>"
        f"<div>Serves up to <b>{_num(best.max_invocations, 0)} requests/minute</b> at "
        f"<b>{_num(best.model_latency_ms, 0)} ms</b> latency, for <b>${_num(best.cost_per_hour, 3)}/hour</b>{note} "
        f"(${_num(_per_million(best.cost_per_inference), 2)} per million inferences).</div></div>"
    )


def charts(result: dict[str, Any], ranked: Any) -> list[Any]:
    """Cost vs latency (the Pareto view), throughput per configuration, and the load curve when known."""
    import altair as alt
    import pandas as pd

    out = []
    if not ranked.empty:
        frame = ranked.assign(
            per_million=ranked.cost_per_inference.astype(float) * 1e6,
            label=ranked.instance_type + " " + ranked.environment,
        )
        out.append(
            alt.Chart(frame, title="Cost vs latency (lower left is better)")
            .mark_circle(size=120)
            .encode(
                x=alt.X(
                    "model_latency_ms:Q", title="latency (ms)", scale=_room(frame.model_latency_ms)
                ),
                y=alt.Y(
                    "per_million:Q",
                    title="$ per million inferences",
                    scale=_room(frame.per_million),
                ),
                color=alt.Color("label:N", title="configuration"),
                tooltip=["label", "max_invocations", "model_latency_ms", "cost_per_hour"],
            )
            .properties(width=360, height=220)
        )
        out.append(
            alt.Chart(frame, title="Max requests per minute")
            .mark_bar()
            .encode(
                x=alt.X("max_invocations:Q", title="requests / minute"),
                y=alt.Y("label:N", title=None, sort="-x"),
            )
            .properties(width=360, height=28 * len(frame) + 20)
        )
    steps = pd.DataFrame((result.get("irkit") or {}).get("steps") or [])
    if not steps.empty and {"users", "rps", "config_id"} <= set(steps.columns):
        out.append(
            alt.Chart(steps, title="Throughput as users grow")
            .mark_line(point=True)
            .encode(
                x=alt.X("users:Q", title="concurrent users"),
                y=alt.Y("rps:Q", title="requests / second"),
                color=alt.Color("config_id:N", title="configuration"),
            )
            .properties(width=360, height=220)
        )
    return out


def _room(values: Any) -> Any:
    """A scale from 0 with 15% headroom, so the largest point is not drawn on the chart's edge."""
    import altair as alt

    top = float(values.astype(float).max() or 1.0)
    return alt.Scale(domain=[0, top * 1.15], nice=True)


def report_html(result: dict[str, Any], ranked: Any) -> str:
    """A self-contained HTML report: irkit.report's when it exists, else the card and table."""
    try:
        from irkit import report

        render = getattr(report, "render_html", None)
        if render is not None:
            return str(render(result))
    except ImportError:
        pass
    best = None if ranked.empty else ranked.iloc[0]
    name = html.escape(str(result.get("JobName", "job")))
    return (
        f"<html><head><meta charset='utf-8'><title>{name}</title></head><body><h1>Right-size report: {name}</h1>"
        f"<p>Status: {html.escape(str(result.get('Status')))}</p>{card_html(best)}<h2>All configurations</h2>"
        f"{table_html(ranked)}</body></html>"
    )


def _per_million(cost_per_inference: Any) -> float | None:
    return None if cost_per_inference is None else float(cost_per_inference) * 1e6


def _num(value: Any, digits: int) -> str:
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return "n/a"
