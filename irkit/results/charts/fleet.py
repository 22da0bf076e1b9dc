"""Charts of a fleet plan (docs/plan.md): pure functions, plan or replay in, Altair chart out.

- ``plan_costs(answer)``: cost per month against latency for every plan, the SLO as a red rule,
  plans that miss it hollow, the best (else the closest) ringed;
- ``trace_capacity(trace, plan)``: a trace's request rate over time against the planned fleet's
  capacity (instances x MaxInvocations) and its autoscaling target;
- ``replay_timeline(report)``: a replay over trace time: target against achieved throughput above,
  p95 per window against the SLO below, the minutes that broke it shaded;
- ``fleet_charts(answer, validation)``: the ones that apply, by name (what the report shows).
"""

from __future__ import annotations

from typing import Any

from irkit.results.charts.theme import HEIGHT, RECOMMENDED_COLOR, WIDTH, altair, instance_color
from irkit.results.frame import INSTANCE_TYPE, short_label

SLO_COLOR = RECOMMENDED_COLOR
TARGET_COLOR, ACHIEVED_COLOR, CAPACITY_COLOR = "#9d755d", "#4c78a8", "#54a24b"
MINUTES_AFTER_S = 300.0  # a time axis longer than this is drawn in minutes


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)


def plan_costs(answer: Any, *, title: str | None = None) -> Any:
    """Cost per month (y) against latency at the SLO's percentile (x) for each plan of a FleetAnswer."""
    alt = altair()
    rows = [{"config": short_label(p.config), INSTANCE_TYPE: p.instance_type, "instances": p.instances,
             "cost_per_month": p.cost_per_month, "latency_ms": p.latency_ms, "meets_slo": bool(p.meets_slo),
             "target": p.invocations_per_instance_target, "capacity": f"{p.min_capacity}-{p.max_capacity}",
             "autoscaled": p.cost_per_month_autoscaled}
            for p in answer.plans if p.latency_ms is not None]
    data = _frame(rows)
    percentile = answer.slo.percentile
    if data.empty:
        return alt.Chart(_frame([{"x": 0}])).mark_text(text="no plan to draw").properties(width=WIDTH, height=80)
    x = alt.X("latency_ms:Q", title=f"{percentile} latency (ms)", scale=alt.Scale(zero=False, padding=20))
    y = alt.Y("cost_per_month:Q", title="cost per month ($)", scale=alt.Scale(zero=False, padding=20),
              axis=alt.Axis(format="$,.0f"))
    tooltip = [alt.Tooltip("config:N", title="configuration"), alt.Tooltip("instances:Q"),
               alt.Tooltip("cost_per_month:Q", title="$/month", format="$,.2f"),
               alt.Tooltip("latency_ms:Q", title=f"{percentile} ms", format=",.0f"),
               alt.Tooltip("meets_slo:N", title="meets the SLO"),
               alt.Tooltip("target:Q", title="invocations/instance/min target", format=",.1f"),
               alt.Tooltip("capacity:N", title="min-max capacity")]
    if data["autoscaled"].notna().any():
        tooltip.append(alt.Tooltip("autoscaled:Q", title="$/month autoscaled on the trace", format="$,.2f"))
    points = alt.Chart(data).mark_point(size=120, strokeWidth=2).encode(
        x=x, y=y, color=instance_color(alt, data[INSTANCE_TYPE]),
        fill=alt.condition("datum.meets_slo", instance_color(alt, data[INSTANCE_TYPE]), alt.value("white")),
        tooltip=tooltip)
    labels = alt.Chart(data).mark_text(align="left", dx=9, dy=4, fontSize=10, color="#555").encode(
        x=x, y=y, text=alt.Text("instances:Q", format="d"))
    slo = alt.Chart(_frame([{"slo": answer.slo.value_ms}])).mark_rule(
        color=SLO_COLOR, strokeDash=[6, 4]).encode(x="slo:Q")
    layers = [slo, points, labels]
    chosen = answer.chosen
    if chosen is not None and chosen.latency_ms is not None:
        note = "best" if answer.best is not None else "closest (misses the SLO)"
        pick = data[(data["config"] == short_label(chosen.config))].assign(
            note=f"{note}: {chosen.instances} x, ${chosen.cost_per_month:,.0f}/month")
        layers.append(alt.Chart(pick).mark_point(size=480, strokeWidth=2.5, color=RECOMMENDED_COLOR).encode(x=x, y=y))
        layers.append(alt.Chart(pick).mark_text(align="left", dx=14, dy=-14, color=RECOMMENDED_COLOR,
                                                fontWeight="bold").encode(x=x, y=y, text="note:N"))
    chart_title = title or alt.TitleParams(
        f"Cost per month for {answer.peak_rps:g} req/s, headroom {answer.headroom:.0%}",
        subtitle=[f"red rule: the SLO ({answer.slo.label}); hollow: misses it; label: instances;",
                  "red ring: the cheapest plan that meets the SLO"])
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=chart_title)


def _time(seconds: float, in_minutes: bool) -> float:
    return seconds / 60.0 if in_minutes else seconds


def trace_capacity(trace: Any, plan: Any = None, *, title: str | None = None) -> Any:
    """A trace's request rate (req/s) over trace time, with the plan's capacity and target lines."""
    from irkit.spec.trace import read_trace

    alt = altair()
    loaded = read_trace(trace)
    minutes = loaded.duration_s > MINUTES_AFTER_S
    rows = [{"t": _time(i * loaded.bin_s, minutes), "rps": rate, "series": "trace"}
            for i, rate in enumerate(loaded.rates)]
    rows.append({"t": _time(loaded.duration_s, minutes), "rps": loaded.rates[-1], "series": "trace"})
    unit = "min" if minutes else "s"
    data = _frame(rows)
    x = alt.X("t:Q", title=f"trace time ({unit})")
    layers = [alt.Chart(data).mark_line(interpolate="step-after", color=ACHIEVED_COLOR).encode(
        x=x, y=alt.Y("rps:Q", title="requests per second"),
        tooltip=[alt.Tooltip("t:Q", title=unit, format=",.1f"), alt.Tooltip("rps:Q", title="req/s", format=",.2f")])]
    subtitle = [f"{loaded.source}: peak {loaded.peak_rps:g} req/s, mean {loaded.mean_rps:.3g} req/s"]
    if plan is not None:
        lines = _frame([
            {"rps": plan.instances * plan.max_invocations / 60.0, "line": f"capacity: {plan.instances} x MaxInvocations"},
            {"rps": plan.instances * plan.invocations_per_instance_target / 60.0,
             "line": f"target: {plan.instances} x {plan.invocations_per_instance_target:g}/min"}])
        layers.append(alt.Chart(lines).mark_rule(strokeDash=[6, 4]).encode(
            y="rps:Q", color=alt.Color("line:N", title=None, scale=alt.Scale(range=[CAPACITY_COLOR, TARGET_COLOR]),
                                       legend=alt.Legend(orient="bottom"))))
        subtitle.append(f"dashed: the fleet of {short_label(plan.config)}")
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT,
                                         title=title or alt.TitleParams("The trace against the fleet", subtitle=subtitle))


def replay_timeline(report: Any, *, title: str | None = None) -> Any:
    """A trace replay (``irkit.load.replay.ReplayReport`` or its dict) over trace time."""
    alt = altair()
    data = report if isinstance(report, dict) else report.to_dict()
    windows = data.get("windows") or []
    span = (windows[-1]["trace_s"] + windows[-1]["duration_s"]) if windows else 0.0
    minutes = span > MINUTES_AFTER_S
    unit = "min" if minutes else "s"
    rows, latency = [], []
    for w in windows:
        t = _time(w["trace_s"], minutes)
        rows.append({"t": t, "rps": w["target_rps"], "series": "target (the trace)"})
        rows.append({"t": t, "rps": w["achieved_rps"], "series": "achieved (answered)"})
        if w.get("p95_ms") is not None:
            latency.append({"t": t, "p95_ms": w["p95_ms"], "over_slo": w["over_slo"], "late": w["late"]})
    x = alt.X("t:Q", title=f"trace time ({unit})")
    throughput = alt.Chart(_frame(rows)).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("rps:Q", title="requests per second"),
        color=alt.Color("series:N", title=None, scale=alt.Scale(range=[ACHIEVED_COLOR, TARGET_COLOR]),
                        legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("series:N", legend=None),
        tooltip=[alt.Tooltip("t:Q", title=unit, format=",.2f"), "series:N",
                 alt.Tooltip("rps:Q", title="req/s", format=",.2f")]).properties(width=WIDTH, height=HEIGHT // 2)
    bad = [m for m in data.get("minutes") or [] if not m.get("held")]
    shade = alt.Chart(_frame([{"start": _time(m["minute"] * 60.0, minutes),
                               "end": _time(min(span, (m["minute"] + 1) * 60.0), minutes),
                               "share": m["violation_share"]} for m in bad] or [{"start": 0.0, "end": 0.0, "share": 0}]))
    shaded = shade.mark_rect(color=SLO_COLOR, opacity=0.12).encode(
        x="start:Q", x2="end:Q", tooltip=[alt.Tooltip("share:Q", title="share over the SLO", format=".1%")])
    p95 = alt.Chart(_frame(latency or [{"t": 0.0, "p95_ms": 0.0, "over_slo": 0, "late": 0}])).mark_line(
        point=True, color=ACHIEVED_COLOR).encode(
        x=x, y=alt.Y("p95_ms:Q", title="p95 per window (ms)"),
        tooltip=[alt.Tooltip("t:Q", title=unit, format=",.2f"), alt.Tooltip("p95_ms:Q", title="p95 ms"),
                 alt.Tooltip("over_slo:Q", title="over the SLO"), alt.Tooltip("late:Q", title="late sends")])
    layers = [shaded, p95]
    if data.get("slo_ms"):
        layers.append(alt.Chart(_frame([{"slo": data["slo_ms"]}])).mark_rule(
            color=SLO_COLOR, strokeDash=[6, 4]).encode(y="slo:Q"))
    below = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT // 2)
    held = "held" if data.get("held") else f"broken in {len(bad)} minute(s) (shaded)"
    totals = data.get("totals") or {}
    subtitle = [f"SLO {data.get('percentile', 'P95')} <= {data.get('slo_ms')} ms {held}; "
                f"{totals.get('late', 0)} late, {totals.get('dropped', 0)} dropped sends"]
    return alt.vconcat(throughput, below).properties(
        title=title or alt.TitleParams("Trace replay: throughput and p95 over time", subtitle=subtitle))


def fleet_charts(answer: Any, validation: Any = None) -> dict[str, Any]:
    """``plan_costs``, plus ``trace_capacity`` with a trace and ``replay_timeline`` with a validation."""
    out = {"plan_costs": plan_costs(answer)}
    if getattr(answer, "loaded_trace", None) is not None:
        out["trace_capacity"] = trace_capacity(answer.loaded_trace, answer.chosen)
    if validation is not None:
        out["replay_timeline"] = replay_timeline(validation.replay)
    return out
