"""What the ResultsExplorer shows, as plain functions over the Describe-shaped result.

The frame, ranking, charts and report come from ``irkit.results``, ``irkit.results.ranking``,
``irkit.results.charts`` and ``irkit.results.report``; labels, units and number formats from
``irkit.results.metrics``. This module only turns them into HTML for the panel. The pick is
``ranking.recommend``'s, the same one ``irkit recommend``, ``irkit jobs show`` and ``irkit report``
give, and the card says which importances it was ranked with. When the result says how sure its
numbers are (``irkit.results.confidence``), MaxInvocations shows its 95% interval, and unstable
configurations, a load generator on the server's cores and ties within measurement noise are
written out in orange.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_MILLION,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    SCORE,
)

FLAG_STYLE = "color:#b35806"  # the charts' flag colour (irkit.results.charts.intervals.FLAG_COLOR)
# the metric columns of the ranking table, in order
TABLE_METRICS = (COST_PER_HOUR, COST_PER_MILLION, MAX_INVOCATIONS, MODEL_LATENCY_MS, SCORE)


def ranked_frame(result: dict[str, Any], cost: int, latency: int, throughput: int) -> Any:
    """Recommendation rows ranked best first (``score``, ``rank``, ``pareto``); importances are 1-5."""
    from irkit import results
    from irkit.results import ranking

    frame = results.to_frame(result or {})
    return ranking.recommend(frame, cost, latency, throughput)


def environment_text(row: Any, env_columns: list[str]) -> str:
    parts = [f"{c}={row[c]}" for c in env_columns if isinstance(row[c], str) and row[c]]
    return ", ".join(parts) or "container defaults"


def _cell(row: Any, column: str) -> str:
    """A metric cell; MaxInvocations with its 95% interval when known (``558 [541-575]``)."""
    from irkit.results import confidence as Q
    from irkit.results.metrics import metric

    if column == MAX_INVOCATIONS and row.get(Q.CI_TEXT):
        return Q.with_interval(row[column], row[Q.MAX_INVOCATIONS_LO], row[Q.MAX_INVOCATIONS_HI],
                               metric(column).fmt, missing="n/a", dash="\u2013")
    return metric(column).format(row[column], "n/a")


def table_html(ranked: Any) -> str:
    from irkit import results as R
    from irkit.results import confidence as Q
    from irkit.results.metrics import add_derived, metric
    from irkit.results.ranking import tie_marks

    if ranked is None or ranked.empty:
        return "<i>No recommendations yet.</i>"
    from irkit.results.fidelity import table_metrics

    env = R.env_columns(ranked)
    records = [metric(c) for c in table_metrics(ranked, TABLE_METRICS)]  # fidelity beside cost, when measured
    shown = Q.with_quality(add_derived(ranked))
    notes = ["; ".join(x for x in (mark, flagged) if x) for mark, flagged in zip(tie_marks(ranked), shown[Q.FLAGS],
                                                                                   strict=True)]
    with_notes = any(notes)
    head = ("<tr><th>#</th><th>Instance type</th><th>Environment</th>"
            + "".join(f"<th>{html.escape(m.title)}</th>" for m in records)
            + ("<th>Notes</th>" if with_notes else "") + "</tr>")
    body = []
    for (i, row), note in zip(shown.iterrows(), notes, strict=True):
        cells = "".join(f"<td>{_cell(row, m.column)}</td>" for m in records)
        if with_notes:
            cells += f"<td style='{FLAG_STYLE}'>{html.escape(note)}</td>"
        body.append(
            f"<tr><td>{i + 1}</td><td>{html.escape(str(row[R.INSTANCE_TYPE]))}</td>"
            f"<td>{html.escape(environment_text(row, env))}</td>{cells}</tr>"
        )
    return (
        "<table class='irkit-table' style='border-collapse:collapse;font-size:0.9em' border='1' "
        f"cellpadding='4'>{head}{''.join(body)}</table>"
    )


def card_html(ranked: Any, importances: Mapping[str, int] | None = None) -> str:
    """The recommendation card for the top-ranked row (or the empty state), naming the importances."""
    from irkit import results as R
    from irkit.results import confidence as Q
    from irkit.results.metrics import derived_value, metric
    from irkit.results.ranking import importance_text, tie_notes, used_importances

    if ranked is None or ranked.empty:
        return (
            "<div style='border:1px dashed #999;padding:10px;border-radius:6px;color:#555;max-width:760px'>"
            "The recommendation appears here when a job finishes.</div>"
        )
    ranked_with = importance_text(importances or used_importances(ranked))
    best = ranked.iloc[0]
    estimate = str(best.get(R.PRICE_IS_ESTIMATE)) == "True"  # NA (unknown) is not an estimate
    note = " (estimated price of a local CPU set)" if estimate else ""
    tput, lat, cph, cpm = (metric(c) for c in (R.MAX_INVOCATIONS, R.MODEL_LATENCY_MS, R.COST_PER_HOUR,
                                               R.COST_PER_MILLION))
    span = Q.format_interval(best.get(Q.MAX_INVOCATIONS_LO), best.get(Q.MAX_INVOCATIONS_HI), tput.fmt, "\u2013")
    span_text = f" (95% interval {span})" if span else ""
    warnings = "".join(f"<div style='{FLAG_STYLE}'>&#9888; {html.escape(flag)}</div>" for flag in Q.flags(best))
    warnings += "".join(f"<div style='{FLAG_STYLE};font-size:0.9em'>&#8776; {html.escape(tie)}</div>"
                        for tie in tie_notes(ranked))
    return (
        "<div class='irkit-recommendation' style='border:2px solid #1b5e20;padding:10px 14px;border-radius:6px;"
        "background:#f1f8e9;max-width:760px'>"
        f"<div style='font-size:0.9em;color:#555'>Recommendation (ranked with {html.escape(ranked_with)})</div>"
        f"<div style='font-size:1.4em;font-weight:bold'>{html.escape(str(best[R.INSTANCE_TYPE]))}</div>"
        f"<div>Environment: {html.escape(environment_text(best, R.env_columns(ranked)))}</div>"
        f"<div>Serves up to <b>{tput.with_unit(best[R.MAX_INVOCATIONS], 'n/a')}</b>{span_text} at "
        f"<b>{lat.with_unit(best[R.MODEL_LATENCY_MS], 'n/a')}</b> {lat.label}, "
        f"for <b>{cph.with_unit(best[R.COST_PER_HOUR], 'n/a')}</b>{note} "
        f"({cpm.with_unit(derived_value(best.to_dict(), R.COST_PER_MILLION), 'n/a')} per million inferences).</div>"
        f"{warnings}"
        f"<div style='font-size:0.85em;color:#555'>Configuration: "
        f"<span class='irkit-pick'>{html.escape(str(best[R.CONFIG]))}</span></div></div>"
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


