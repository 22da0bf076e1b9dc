"""A self-contained HTML report of a right-size job, and each chart as a PNG beside it.

``write_report(result_or_job, out_dir)`` writes ``out_dir/report.html`` (no script from the
network: Vega, Vega-Lite and vega-embed are inlined from vl-convert's offline bundle) with the
recommendation, the ranking, the Pareto front, warnings and failed configurations, and every chart;
plus ``out_dir/<chart>.png`` for each chart, rendered offline by vl-convert. Where the result says how
sure its numbers are (``irkit.results.confidence``), the card and the ranking show MaxInvocations'
95% interval, ties within measurement noise, unstable configurations and a load generator that
shared the server's cores.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import irkit.results.frame as R
from irkit._lazy import optional_import
from irkit.results import charts
from irkit.results import confidence as Q
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_MILLION,
    CPU_UTILIZATION,
    MAX_INVOCATIONS,
    MEMORY_UTILIZATION,
    MODEL_LATENCY_MS,
    SCORE,
    add_derived,
    metric,
)
from irkit.results.ranking import (
    DEFAULT_IMPORTANCES,
    PARETO,
    RANK,
    TIED,
    importances,
    recommend,
    tie_marks,
    tie_notes,
)
from irkit.results.report_html import page, recommendation_card, table

if TYPE_CHECKING:
    import pandas as pd

REPORT_NAME = "report.html"
PNG_SCALE = 2.0


@dataclass
class Report:
    """What ``build_report`` computed: the frames, the pick and the charts (not yet written)."""

    result: dict[str, Any]
    frame: pd.DataFrame
    ranked: pd.DataFrame
    charts: dict[str, Any]
    importance: dict[str, int]
    threshold_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def recommendation(self) -> dict[str, Any] | None:
        """The top-ranked row as a dict, or None when no configuration qualified."""
        return None if self.ranked.empty else self.ranked.iloc[0].to_dict()


def latency_threshold_ms(result: dict[str, Any], spec: dict[str, Any] | None = None) -> float | None:
    """The job's latency threshold: StoppingConditions (SageMaker), else the stored spec's."""
    for item in (result.get("StoppingConditions") or {}).get("ModelLatencyThresholds") or []:
        if item.get("ValueInMilliseconds"):
            return float(item["ValueInMilliseconds"])
    for item in (spec or {}).get("model_latency_thresholds") or []:
        if item.get("value_in_milliseconds"):
            return float(item["value_in_milliseconds"])
    return None


def _resolve(result_or_job: Any, store: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(result, spec dict or None) from a result, a result file, a handle, or a job ref."""
    if isinstance(result_or_job, dict) or (
        isinstance(result_or_job, (str, os.PathLike)) and Path(result_or_job).suffix.lower() == ".json"
    ):
        return R.load_result(result_or_job), None
    from irkit.store import Store

    store = store if store is not None else Store()
    ref = result_or_job.job_id if hasattr(result_or_job, "job_id") else str(result_or_job)
    job = store.get_job(ref)
    return R.load_result(ref, store=store), job.get("spec")


def build_report(
    result_or_job: Any,
    *,
    cost: int = DEFAULT_IMPORTANCES["cost"],
    latency: int = DEFAULT_IMPORTANCES["latency"],
    throughput: int = DEFAULT_IMPORTANCES["throughput"],
    latency_ms: float | None = None,
    min_rpm: float | None = None,
    store: Any = None,
    **fidelity_floors: float | None,
) -> Report:
    """Flatten, rank with ``ranking.recommend`` (importance 1-5 per goal, optional SLO filter and
    fidelity floors ``min_top1_agreement`` / ``min_top5_agreement`` / ``min_cosine``) and chart a job."""
    from irkit.results.fidelity import report_notes

    result, spec = _resolve(result_or_job, store)
    frame = R.to_frame(result)
    ranked = recommend(frame, cost, latency, throughput, latency_ms=latency_ms, min_rpm=min_rpm, **fidelity_floors)
    threshold = latency_threshold_ms(result, spec)
    notes = _notes(result, frame, ranked, latency_ms, min_rpm) + report_notes(R.recommendations(frame), ranked)
    drawn = charts.result_charts(result, ranked=ranked if len(ranked) else None, threshold_ms=threshold)
    return Report(result, frame, ranked, drawn, importances(cost, latency, throughput), threshold, notes)


def _notes(result: dict[str, Any], frame: Any, ranked: Any, latency_ms: Any, min_rpm: Any) -> list[str]:
    notes = []
    if result.get("FailureReason"):
        notes.append(f"Job status {result.get('Status')}: {result['FailureReason']}")
    recs = R.recommendations(frame)
    if len(recs) and ranked.empty:
        notes.append(f"No configuration meets the SLO (latency <= {latency_ms} ms, >= {min_rpm} requests/min).")
    if R.PRICE_IS_ESTIMATE in frame and frame[R.PRICE_IS_ESTIMATE].fillna(False).astype(bool).any():
        notes.append("Local $/hour prices are estimates (vCPUs x the per-vCPU price of ml.c5.large), "
                     "not a price list entry; set instance_prices in the spec to use your own.")
    extra = result.get("irkit") or {}
    for config in extra.get("configs") or []:
        for warning in config.get("warnings") or []:
            notes.append(f"{config.get('config_id')}: {warning}")
    notes += [str(w) for w in extra.get("warnings") or []]
    notes += Q.notes(result)  # unstable configurations, a load generator on the server's cores
    return notes


def render_html(
    result_or_job: Any, *, report: Report | None = None, store: Any = None, plan: Any = None,
    validation: Any = None, **rank_args: Any
) -> str:
    """The report page as one HTML string (what ``write_report`` saves as report.html).

    ``plan``: an ``irkit.results.plan.FleetAnswer`` for the "Plan your fleet" section (without
    one the section says how to get it); ``validation``: its trace replay (``validate_plan``).
    """
    from irkit.results.report_fleet import CHART_TITLES as FLEET_TITLES
    from irkit.results.report_fleet import fleet_section, job_replay_section

    report = report or build_report(result_or_job, store=store, **rank_args)
    vlc = optional_import("vl_convert")
    alt = optional_import("altair")
    vl_version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    bundle = vlc.javascript_bundle(vl_version=vl_version)
    result = report.result
    sections = [recommendation_card(report.recommendation, report.importance, ties=tie_notes(report.ranked))]
    if report.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
        sections.append(f"<section class='notes'><h2>Notes</h2><ul>{items}</ul></section>")
    sections.append("<h2>Ranking</h2>" + _ranking_table(report.ranked))
    endpoints = report.frame[report.frame[R.KIND] == R.KIND_ENDPOINT]
    if len(endpoints):
        shown = Q.with_quality(endpoints)
        sections.append("<h2>Existing endpoints benchmarked</h2>" + table(
            shown, {R.ENDPOINT_NAME: "endpoint", **{c: metric(c).title for c in _ENDPOINT_METRICS},
                    **_quality_columns(shown)}, classes={Q.FLAGS: "flag"}))
    statuses = R.config_statuses(result)
    failed = statuses[statuses["status"] != "COMPLETED"] if len(statuses) else statuses
    if len(failed):
        sections.append("<h2>Configurations without a result</h2>" + table(
            failed, {"config_id": "configuration", "status": "status", "failure_reason": "reason"}))
    specs = []
    fleet_html, fleet_charts = fleet_section(plan, validation)
    replay_html, replay_charts = job_replay_section(result)
    fleet_charts = {**fleet_charts, **replay_charts}
    sections.append(fleet_html + replay_html)
    for name, chart in fleet_charts.items():
        sections.append(f"<h3>{html.escape(FLEET_TITLES.get(name, 'Trace replay of the job'))}</h3>"
                        f"<div class='chart' id='chart-{name}'></div>"
                        f"<noscript><img src='{name}.png' alt='{name}'></noscript>")
        specs.append((f"chart-{name}", chart.to_dict()))
    for name, chart in report.charts.items():
        sections.append(f"<h2>{html.escape(_CHART_TITLES.get(name, name))}</h2>"
                        f"<div class='chart' id='chart-{name}'></div>"
                        f"<noscript><img src='{name}.png' alt='{name}'></noscript>")
        specs.append((f"chart-{name}", chart.to_dict()))
    embed = "\n".join(
        f"vegaEmbed('#{div}', {json.dumps(spec)}, {{renderer: 'svg', actions: false}});" for div, spec in specs
    )
    return page(result, "\n".join(sections), bundle, embed)


_CHART_TITLES = {
    "cost_vs_latency": "Cost vs latency, with the Pareto front",
    "max_invocations": "Max invocations per configuration",
    "step_curves": "Load curves per step",
    "cost_vs_fidelity": "Cost vs fidelity to TensorFlow (the runtime axis)",
}

_ENDPOINT_METRICS = (MAX_INVOCATIONS, MODEL_LATENCY_MS)
_RANK_METRICS = (COST_PER_HOUR, COST_PER_MILLION, MAX_INVOCATIONS, MODEL_LATENCY_MS, CPU_UTILIZATION,
                 MEMORY_UTILIZATION, SCORE)
_RANK_COLUMNS = {
    RANK: "#", R.CONFIG: "configuration", R.INSTANCE_TYPE: "instance type",
    **{c: metric(c).title for c in _RANK_METRICS}, PARETO: "Pareto",
}


def _quality_columns(shown: Any) -> dict[str, str]:
    """The interval, warnings and generator columns a ``with_quality`` frame has values for."""
    columns = {}
    if Q.has_intervals(shown):
        columns[Q.CI_TEXT] = f"{metric(MAX_INVOCATIONS).label} 95% interval ({metric(MAX_INVOCATIONS).unit})"
    if Q.GENERATOR_CPU in shown and shown[Q.GENERATOR_CPU].notna().any():
        columns[Q.GENERATOR_CPU] = "load generator CPU %"
    if Q.has_flags(shown):
        columns[Q.FLAGS] = "measurement warnings"
    return columns


def _ranking_table(ranked: Any) -> str:
    if ranked.empty:
        return "<p>No recommendation to rank.</p>"
    shown = Q.with_quality(add_derived(ranked))
    columns = dict(_RANK_COLUMNS)
    if TIED in shown and shown[TIED].any():
        shown[TIED] = tie_marks(shown)
        columns[TIED] = "within measurement noise"
    at = list(columns).index(MAX_INVOCATIONS) + 1  # the interval right after the value
    items = list(columns.items())
    columns = dict(items[:at] + list(_quality_columns(shown).items()) + items[at:])
    from irkit.results.fidelity import table_metrics

    order = table_metrics(shown, list(columns))  # fidelity beside cost, when measured
    columns = {c: columns.get(c) or metric(c).title for c in order}
    return table(shown, columns, highlight_first=True, classes={Q.FLAGS: "flag", TIED: "flag"})


def write_report(
    result_or_job: Any,
    out_dir: str | os.PathLike[str],
    *,
    png: bool = True,
    store: Any = None,
    plan: Any = None,
    validation: Any = None,
    **rank_args: Any,
) -> Path:
    """Write ``out_dir/report.html`` and ``out_dir/<chart>.png``; return the report's path.

    ``result_or_job``: a result dict, a saved result ``.json``, a ``JobHandle``, or a job id/name/
    ``latest`` in the history. ``rank_args``: ``cost``, ``latency``, ``throughput`` (1-5),
    ``latency_ms``, ``min_rpm``, and the fidelity floors ``min_top1_agreement``, ``min_top5_agreement``,
    ``min_cosine`` (0-1). ``plan`` / ``validation``: the "Plan your fleet" section (``render_html``).
    """
    from irkit.results.report_fleet import fleet_section, job_replay_section

    report = build_report(result_or_job, store=store, **rank_args)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if png:
        vlc = optional_import("vl_convert")
        charts = {**report.charts, **fleet_section(plan, validation)[1], **job_replay_section(report.result)[1]}
        for name, chart in charts.items():
            (out / f"{name}.png").write_bytes(vlc.vegalite_to_png(chart.to_dict(), scale=PNG_SCALE))
    path = out / REPORT_NAME
    path.write_text(render_html(result_or_job, report=report, plan=plan, validation=validation), encoding="utf-8")
    return path
