"""Altair charts of right-size results. Pure functions: a frame (or spec) in, a chart out.

- ``cost_vs_latency(frame)``: cost per 1M inferences against model latency, the Pareto front drawn,
  the recommendation ringed;
- ``max_invocations_bars(frame)``: max requests per minute per configuration, coloured by instance type;
- ``step_curves(steps)``: req/s and latency percentiles against users per step (local curves);
- ``traffic_preview(spec)``: simulated users over time of a PHASES or STAIRS pattern;
- ``history_trend(frame)``: one metric per configuration over the jobs of the history.

Frames come from ``irkit.results`` (``to_frame``, ``steps_frame``) and ``irkit.results.ranking``. Every
chart is sized for a narrow notebook column (``WIDTH`` px) and carries tooltips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import irkit.results.frame as R
import irkit.results.metrics as MX
from irkit._lazy import optional_import
from irkit.results.charts import intervals as CI
from irkit.results.charts.models import model_charts
from irkit.results.charts.theme import (  # noqa: F401 - re-exported: charts.core.WIDTH etc. keep working
    BAR_HEIGHT,
    HEIGHT,
    LABEL_LIMIT,
    PALETTE,
    RECOMMENDED_COLOR,
    WIDTH,
    altair,
    instance_color,
    metric_title,
    metric_tooltip,
)
from irkit.results.charts.traffic import traffic_points
from irkit.results.frame import label_parts as _label_parts
from irkit.results.frame import short_label
from irkit.results.metrics import COST_PER_MILLION, SCORE
from irkit.results.ranking import PARETO, RANK, pareto_mask, recommend

if TYPE_CHECKING:
    import pandas as pd

LABEL = "label"  # derived: a short configuration label
_OPACITY = "bar_opacity"  # derived: unstable configurations' bars are lighter
_TEXT_X = "text_x"  # derived: where a bar's value label starts (after its whisker)


def _alt() -> Any:
    return altair()


def _two_line_label(config: str) -> str:
    return "\n".join(_label_parts(config))


def _with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    out = MX.add_derived(frame)  # cost_per_million
    out[LABEL] = out[R.CONFIG].map(short_label)
    return out


def _tooltip(alt: Any, frame: pd.DataFrame) -> list[Any]:
    tips = [
        alt.Tooltip(f"{R.CONFIG}:N", title="configuration"),
        alt.Tooltip(f"{R.INSTANCE_TYPE}:N", title="instance type"),
    ]
    tips += [metric_tooltip(alt, c) for c in (MX.MAX_INVOCATIONS, MX.MODEL_LATENCY_MS, MX.COST_PER_HOUR,
                                               COST_PER_MILLION, SCORE, MX.CPU_UTILIZATION) if c in frame]
    return tips + CI.tooltips(alt, frame)  # the 95% interval and the measurement flags, when known


def _padded_scale(alt: Any, values: pd.Series) -> Any:
    """A scale that keeps every point inside with a margin, also when all values are equal."""
    values = values.dropna()
    if not len(values):
        return alt.Scale(zero=False, nice=True)
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.15 or abs(high) * 0.25 or 1.0
    return alt.Scale(domain=[max(low - pad, 0.0) if low >= 0 else low - pad, high + pad], nice=True, zero=False)


def cost_vs_latency(frame: pd.DataFrame, *, ranked: pd.DataFrame | None = None, title: str | None = None) -> Any:
    """Cost per 1M inferences vs model latency; the Pareto front as a line, the pick ringed in red.

    ``frame`` is ``results.to_frame(...)`` (endpoint rows are skipped: they have no cost).
    ``ranked`` is ``ranking.recommend(...)``/``rank(...)``: its first row is the one marked;
    by default it is ranked with equal importance.
    """
    alt = _alt()
    recs = R.recommendations(frame) if R.KIND in frame else frame
    recs = recs[recs[R.COST_PER_INFERENCE].notna() & recs[R.MODEL_LATENCY_MS].notna()]
    if ranked is None:
        ranked = recommend(recs) if len(recs) else recs
    data = CI.with_quality(_with_labels(recs))
    data[PARETO] = pareto_mask(data).to_numpy() if len(data) else []
    if SCORE in ranked and len(ranked):
        scores = dict(zip(ranked[R.CONFIG], ranked[SCORE], strict=True))
        data[SCORE] = data[R.CONFIG].map(scores)
    best_config = ranked[R.CONFIG].iloc[0] if len(ranked) else None
    x = alt.X(f"{R.MODEL_LATENCY_MS}:Q", title=metric_title(R.MODEL_LATENCY_MS),
              scale=_padded_scale(alt, data[R.MODEL_LATENCY_MS]))
    import pandas as pd

    # the scale holds the points and their 95% whiskers
    spans = pd.concat([data[c] for c in (COST_PER_MILLION, CI.COST_PER_MILLION_LO, CI.COST_PER_MILLION_HI)])
    y_scale = _padded_scale(alt, spans.astype("float64"))
    y = alt.Y(f"{COST_PER_MILLION}:Q", title=metric_title(COST_PER_MILLION), scale=y_scale,
              axis=alt.Axis(format=",.4~g"))
    base = alt.Chart(data)
    points = base.mark_circle(size=110, opacity=0.85).encode(
        x=x, y=y,
        color=instance_color(alt, data[R.INSTANCE_TYPE]),
        tooltip=_tooltip(alt, data),
    )
    front = base.transform_filter(alt.datum[PARETO]).mark_line(
        color="#777", strokeDash=[5, 4], strokeWidth=1.5, point=False
    ).encode(x=x, y=y, order=alt.Order(f"{R.MODEL_LATENCY_MS}:Q"))
    whiskers = CI.point_whiskers(alt, data, x, metric_title(COST_PER_MILLION), y_scale)
    layers = [front, *([whiskers] if whiskers is not None else []), points]
    flagged = CI.flag_text(alt, data, x, y)
    if flagged is not None:
        layers.append(flagged)
    if best_config is not None:
        best = data[data[R.CONFIG] == best_config]
        ring = alt.Chart(best).mark_point(shape="circle", size=420, strokeWidth=2.5, color=RECOMMENDED_COLOR,
                                          filled=False).encode(x=x, y=y, tooltip=_tooltip(alt, data))
        text = alt.Chart(best.assign(note="recommended")).mark_text(
            align="left", dx=14, dy=-12, color=RECOMMENDED_COLOR, fontWeight="bold"
        ).encode(x=x, y=y, text="note:N")
        layers += [ring, text]
    chart_title = title or alt.TitleParams(
        "Cost vs latency (lower left is better)",
        subtitle=["dashed: Pareto front (no config beats these on cost, latency and",
                  "throughput together); red ring: the recommendation",
                  *CI.subtitle_lines(data, "cost per inference (from MaxInvocations')")],
    )
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=chart_title)


def max_invocations_bars(frame: pd.DataFrame, *, title: str = "Max invocations per configuration") -> Any:
    """Horizontal bars of max requests per minute, coloured by instance type.

    Ordered by ``rank`` when the frame is ranked (the recommendation on top, labelled "1."), else
    highest first.
    """
    alt = _alt()
    data = CI.with_quality(_with_labels(frame[frame[R.MAX_INVOCATIONS].notna()]))
    # instance type on the first line, one env parameter per line after it (split by the axis labelExpr)
    data[LABEL] = data[R.CONFIG].map(_two_line_label)
    if RANK in data and len(data):
        ranked_rows = data[RANK].notna()
        data.loc[ranked_rows, LABEL] = (data.loc[ranked_rows, RANK].astype(int).astype(str) + ". "
                                        + data.loc[ranked_rows, LABEL])
    # measurement warnings as more label lines, so they read without hovering
    data[LABEL] = [label + "".join(f"\n\u26a0 {flag}" for flag in flags.split("; ") if flag)
                   for label, flags in zip(data[LABEL], data[CI.FLAGS], strict=True)]
    data[_OPACITY] = [0.45 if "unstable" in flags else 1.0 for flags in data[CI.FLAGS]]
    data[_TEXT_X] = data[[R.MAX_INVOCATIONS, R.MAX_INVOCATIONS_HI]].max(axis=1)
    data = data.sort_values([RANK, R.MAX_INVOCATIONS] if RANK in data else [R.MAX_INVOCATIONS],
                            ascending=[True, False] if RANK in data else [False], na_position="last")
    lines = int(data[LABEL].str.count("\n").max()) + 1 if len(data) else 1
    height = max(int(BAR_HEIGHT * (0.6 + 0.5 * lines)) * len(data), 60)
    y = alt.Y(f"{LABEL}:N", title=None, sort=list(data[LABEL]),
              axis=alt.Axis(labelLimit=LABEL_LIMIT, labelExpr="split(datum.label, '\\n')"))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X(f"{R.MAX_INVOCATIONS}:Q", title=metric_title(R.MAX_INVOCATIONS)),
        y=y,
        color=instance_color(alt, data[R.INSTANCE_TYPE]),
        opacity=alt.Opacity(f"{_OPACITY}:Q", scale=None, legend=None),
        tooltip=_tooltip(alt, data),
    )
    layers = [bars]
    whiskers = CI.bar_whiskers(alt, data, y, metric_title(R.MAX_INVOCATIONS))
    if whiskers is not None:  # the value and its 95% interval, after the whisker
        layers.append(whiskers)
        values = alt.Chart(data).mark_text(align="left", dx=5, fontSize=10, color="#333").encode(
            x=alt.X(f"{_TEXT_X}:Q", title=metric_title(R.MAX_INVOCATIONS)), y=y, text=f"{CI.VALUE_TEXT}:N")
    else:
        values = bars.mark_text(align="left", dx=3, fontSize=10, color="#333").encode(
            text=alt.Text(f"{R.MAX_INVOCATIONS}:Q", format=MX.metric(R.MAX_INVOCATIONS).fmt),
            color=alt.value("#333"), opacity=alt.value(1.0))
    layers.append(values)
    notes = CI.subtitle_lines(data, flag_mark="\u26a0")
    return alt.layer(*layers).properties(width=WIDTH - 180, height=height,
                                         title=alt.TitleParams(title, subtitle=notes) if notes else title)


def step_curves(
    steps: pd.DataFrame,
    *,
    threshold_ms: float | None = None,
    percentiles: tuple[str, ...] = (R.P50_MS, R.P95_MS, R.P99_MS),
    title: str = "Load curve per step",
) -> Any:
    """Req/s (top) and latency percentiles (bottom) against concurrent users, one colour per config.

    ``steps`` is ``results.steps_frame(...)``. ``threshold_ms`` draws the latency SLO as a red rule.
    """
    alt = _alt()
    # a knee search runs its levels out of order (1, 2, 4, 8, 3): draw each curve by users
    data = steps.sort_values([R.CONFIG, R.USERS, R.STEP], kind="stable").copy()
    data[LABEL] = data[R.CONFIG].map(short_label)
    users = sorted({int(u) for u in data[R.USERS].dropna()})
    x = alt.X(f"{R.USERS}:Q", title="concurrent users",
              axis=alt.Axis(values=users, format="d") if 0 < len(users) <= 12 else alt.Axis(tickMinStep=1, format="d"))
    color = alt.Color(f"{LABEL}:N", title="configuration", legend=alt.Legend(orient="bottom", columns=1,
                                                                               labelLimit=LABEL_LIMIT + 100))
    tips = [alt.Tooltip(f"{R.CONFIG}:N", title="configuration"), alt.Tooltip(f"{R.STEP}:Q", title="step"),
            alt.Tooltip(f"{R.USERS}:Q", title="users"),
            *(metric_tooltip(alt, c) for c in (MX.RPS, MX.GOODPUT_RPS, MX.ERRORS)), *CI.step_tooltips(alt, data)]
    rps = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y(f"{R.RPS}:Q", title=metric_title(MX.RPS)), color=color, tooltip=tips,
    )
    knees = data[data[R.AT_PLATEAU].fillna(False).astype(bool)] if R.AT_PLATEAU in data else data.iloc[:0]
    plateau = alt.Chart(knees).mark_point(shape="diamond", size=220, filled=False, strokeWidth=2.5,
                                          color=RECOMMENDED_COLOR).encode(x=x, y=f"{R.RPS}:Q", tooltip=tips)
    subtitle: Any = (["throughput levels out at the plateau;", "red diamond: the knee, where throughput levels off"]
                     if len(knees) else "throughput levels out at the plateau")
    unsettled = CI.unstable_steps(alt, data, x, f"{R.RPS}:Q")
    if unsettled is not None:
        subtitle = [*([subtitle] if isinstance(subtitle, str) else subtitle), "orange cross: a level that never settled"]
    throughput = alt.layer(rps, plateau, *([unsettled] if unsettled is not None else [])).properties(
        width=WIDTH, height=170, title=alt.TitleParams(title, subtitle=subtitle))
    names = {p: MX.metric(p).label for p in percentiles}
    long = data.melt(id_vars=[R.CONFIG, LABEL, R.STEP, R.USERS], value_vars=list(percentiles),
                     var_name="percentile", value_name="latency_ms")
    long["percentile"] = long["percentile"].map(names)
    latency = alt.Chart(long).mark_line(point=False).encode(
        x=x, y=alt.Y("latency_ms:Q", title=f"latency ({MX.metric(percentiles[0]).unit})"), color=color,
        strokeDash=alt.StrokeDash("percentile:N", title="percentile", sort=[names[p] for p in percentiles],
                                  legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=2,
                                                    symbolSize=300)),
        tooltip=[alt.Tooltip(f"{R.CONFIG}:N", title="configuration"), alt.Tooltip(f"{R.USERS}:Q", title="users"),
                 alt.Tooltip("percentile:N"), metric_tooltip(alt, percentiles[0], field="latency_ms")],
    )
    layers = [latency]
    if threshold_ms:
        rule = alt.Chart({"values": [{"slo": float(threshold_ms)}]}).mark_rule(
            color=RECOMMENDED_COLOR, strokeDash=[6, 3]
        ).encode(y="slo:Q", tooltip=[alt.Tooltip("slo:Q", title="latency threshold (ms)")])
        label = rule.mark_text(align="left", baseline="bottom", dy=-3, color=RECOMMENDED_COLOR).encode(
            x=alt.value(4), text=alt.value(f"latency threshold {float(threshold_ms):g} ms"))
        layers += [rule, label]
    bottom = alt.layer(*layers).properties(
        width=WIDTH, height=170,
        title=alt.TitleParams("Latency per step", subtitle="latency rises once the server is saturated", fontSize=12))
    return alt.vconcat(throughput, bottom).resolve_scale(color="shared")


def traffic_preview(spec: Any, *, title: str = "Simulated users over time") -> Any:
    """Users over time of a PHASES or STAIRS pattern (a JobSpec, TrafficPattern or spec dict)."""
    alt = _alt()
    pd = optional_import("pandas")
    points = traffic_points(spec)
    data = pd.DataFrame(points, columns=["seconds", "users", "segment"])
    return alt.Chart(data).mark_line(interpolate="linear", point=alt.OverlayMarkDef(size=25)).encode(
        x=alt.X("seconds:Q", title="time (s)"),
        y=alt.Y("users:Q", title="concurrent users", scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("segment:N", title="phase/step"), alt.Tooltip("seconds:Q", title="time (s)"),
                 alt.Tooltip("users:Q", title="users", format=".1f")],
    ).properties(width=WIDTH, height=160, title=title)


def history_trend(
    frame: pd.DataFrame, *, metric: str = R.MAX_INVOCATIONS, title: str | None = None
) -> Any:
    """One line per configuration of ``metric`` over the jobs of ``history.trend()`` (oldest left)."""
    alt = _alt()
    record = MX.metric(metric)
    if metric not in frame:
        raise ValueError(f"metric: the frame has no column {metric!r}")
    data = frame[frame[metric].notna()].copy()
    data[LABEL] = data[R.CONFIG].map(short_label)
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X(f"{R.CREATED}:T", title="job run (creation time)"),
        y=alt.Y(f"{metric}:Q", title=record.title),
        color=alt.Color(f"{LABEL}:N", title="configuration", legend=alt.Legend(orient="bottom", columns=1,
                                                                               labelLimit=LABEL_LIMIT + 100)),
        tooltip=[alt.Tooltip(f"{R.JOB_ID}:N", title="job"), alt.Tooltip(f"{R.CREATED}:T", title="created",
                                                                         format="%Y-%m-%d %H:%M"),
                 alt.Tooltip(f"{R.CONFIG}:N", title="configuration"),
                 metric_tooltip(alt, metric)],
    ).properties(width=WIDTH, height=HEIGHT, title=title or f"History: {record.title} per configuration")


def result_charts(result: Any, *, ranked: pd.DataFrame | None = None, threshold_ms: float | None = None) -> dict[str, Any]:
    """Every chart a result supports, by name (``cost_vs_latency``, ``max_invocations``, ``step_curves``;
    with ``irkit.per_model``, also ``model_latency``, ``cold_warm``, ``hit_rate`` from ``charts.models``;
    with fidelity (the runtime axis), ``cost_vs_fidelity`` from ``charts.fidelity``)."""
    frame = R.to_frame(result)
    recs = R.recommendations(frame)
    if ranked is None:
        ranked = recommend(recs) if len(recs) else recs
    charts: dict[str, Any] = {}
    if len(recs):
        charts["cost_vs_latency"] = cost_vs_latency(frame, ranked=ranked)
    if frame[R.MAX_INVOCATIONS].notna().any():
        bar_frame = ranked if len(ranked) else frame
        endpoints = frame[frame[R.KIND] == R.KIND_ENDPOINT]
        if len(endpoints):
            import pandas as pd

            bar_frame = pd.concat([bar_frame, endpoints], ignore_index=True)
        charts["max_invocations"] = max_invocations_bars(bar_frame)
    steps = R.steps_frame(result)
    if len(steps):
        charts["step_curves"] = step_curves(steps, threshold_ms=threshold_ms)
    charts.update(model_charts(result))  # multi-model load: per-model latency, cold/warm, hit rate
    from irkit.results.charts.fidelity import fidelity_charts

    charts.update(fidelity_charts(frame, ranked))  # the runtime axis: cost per 1M inferences vs fidelity
    return charts
