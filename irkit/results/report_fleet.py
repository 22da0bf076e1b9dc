"""The report's "Plan your fleet" section (docs/plan.md): HTML and charts for a FleetAnswer.

``fleet_section(answer, validation)`` -> ``(html, {name: chart})``. Without an answer the section
says how to get one (``irkit plan`` or ``write_report(..., plan=plan_fleet(...))``), with no chart.
"""

from __future__ import annotations

import html
from typing import Any

from irkit.results.report_html import table

CHART_TITLES = {
    "plan_costs": "Plan your fleet: cost per month against latency",
    "trace_capacity": "Plan your fleet: the trace against the fleet",
    "replay_timeline": "Plan your fleet: the trace replayed against the plan",
}
HINT = ("Size a fleet from these recommendations: <code>irkit plan JOB --peak-rps R --slo P95:MS "
        "[--trace FILE] [--validate] --report DIR</code>, or in Python "
        "<code>write_report(job, out, plan=plan_fleet(job, peak_rps=R, slo='P95:MS'))</code> (docs/plan.md).")


def _money(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"${value:,.{digits}f}"


def _plan_rows(answer: Any) -> Any:
    import pandas as pd

    from irkit.results.frame import short_label

    rows = []
    for i, p in enumerate(answer.plans):
        mark = "best" if i == answer.best else ("closest" if i == answer.closest else "")
        rows.append({"pick": mark, "config": short_label(p.config), "instances": p.instances,
                     "per_hour": _money(p.cost_per_hour, 4), "per_month": _money(p.cost_per_month),
                     "latency": p.latency_ms, "meets": bool(p.meets_slo),
                     "target": p.invocations_per_instance_target, "capacity": f"{p.min_capacity}-{p.max_capacity}",
                     "autoscaled": _money(p.cost_per_month_autoscaled) if p.cost_per_month_autoscaled is not None
                     else None, "planned_on": p.planned_on})
    frame = pd.DataFrame(rows)
    if len(frame) and answer.best is not None:  # the best row first, highlighted
        frame = pd.concat([frame.iloc[[answer.best]], frame.drop(index=answer.best)])
    return frame


def _policy_lines(plan: Any) -> list[str]:
    from irkit.results.scaling import policy_summary

    lines = []
    for name, policy in (("irkit", plan.scaling), ("SageMaker (GetScalingConfigurationRecommendation)",
                                                   plan.scaling_sagemaker)):
        if not policy:
            continue
        s = policy_summary(policy)
        lines.append(f"{name}: target tracking on {s['metric']} at {s['target_value']:g} per instance per "
                     f"minute, {s['min_capacity']}-{s['max_capacity']} instances, scale-in cooldown "
                     f"{s['scale_in_cooldown']} s, scale-out cooldown {s['scale_out_cooldown']} s")
    return lines


def job_replay_section(result: Any) -> tuple[str, dict[str, Any]]:
    """A ``traffic_type: TRACE`` job's own replays: one paragraph and one timeline chart per config."""
    from irkit.load.replay import job_replays
    from irkit.results.charts.fleet import replay_timeline

    replays = job_replays(result or {})
    if not replays:
        return "", {}
    parts, charts = ["<h2>Trace replay</h2>"], {}
    for i, (config, replay) in enumerate(replays.items()):
        parts.append(f"<h3>{html.escape(config)}</h3><pre>{html.escape(replay.text())}</pre>")
        charts[f"job_replay_{i}"] = replay_timeline(replay, title=f"Trace replay on {config}")
    return "\n".join(parts), charts


def fleet_section(answer: Any = None, validation: Any = None, *, heading: bool = True) -> tuple[str, dict[str, Any]]:
    """The section's HTML (with its ``<h2>`` unless ``heading=False``) and its charts (none without an answer)."""
    title = "<h2>Plan your fleet</h2>" if heading else ""
    if answer is None:
        return f"{title}<p class='meta'>{HINT}</p>", {}
    from irkit.results.charts.fleet import fleet_charts

    need = (f"{answer.peak_rps:g} requests/second at {answer.slo.label}, {answer.headroom:.0%} headroom, "
            f"{answer.hours_per_month:g} hours a month")
    css = "card" if answer.best is not None else "card none"
    parts = [f"{title}<div class='{css}'><div>For {html.escape(need)}</div>"
             f"<div class='pick'>{html.escape(answer.message)}</div></div>"]
    if answer.plans:
        parts.append(table(_plan_rows(answer), {
            "pick": "", "config": "configuration", "instances": "instances", "per_hour": "$/hour",
            "per_month": "$/month", "latency": f"{answer.slo.percentile} ms", "meets": "meets SLO",
            "target": "target invocations/instance/min", "capacity": "min-max capacity",
            "autoscaled": "$/month autoscaled (trace)", "planned_on": "planned on"},
            highlight_first=answer.best is not None))
    chosen = answer.chosen
    notes = (_policy_lines(chosen) if chosen is not None else []) + list(answer.notes)
    if chosen is not None:
        notes += [f"{chosen.config}: {n}" for n in chosen.notes]
    if notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    if validation is not None:
        verdict = "held" if validation.held else "NOT held"
        parts.append(f"<h3>Trace replay: the SLO {verdict}</h3><pre>{html.escape(validation.text())}</pre>")
    return "\n".join(parts), fleet_charts(answer, validation)
