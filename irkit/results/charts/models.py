"""Altair charts of multi-model load. Pure functions: a frame (or probabilities) in, a chart out.

- ``model_latency_bars(summary)``: p50/p95/p99 per target;
- ``cold_warm_bars(summary)``: cold (the model had to load) against warm (loaded) latency per target;
- ``hit_rate_bars(summary)``: the share of answers that found their model loaded, with each target's
  share of requests;
- ``popularity_bars(probabilities, observed=None)``: the popularity a spec asks for (and what a run got);
- ``model_charts(result)``: every chart above a result supports, by name.

``summary`` is ``irkit.results.per_model.model_summary(...)``. With several configurations the rows
are labelled ``config · target``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import irkit.results.per_model as M
from irkit._lazy import optional_import
from irkit.results.charts.theme import (
    COLD_COLOR,
    LABEL_LIMIT,
    PALETTE,
    WARM_COLOR,
    WIDTH,
    altair,
    metric_title,
    metric_tooltip,
)
from irkit.results.frame import short_label
from irkit.results.metrics import metric

if TYPE_CHECKING:
    import pandas as pd

ROW = "row"  # derived: the bar's label
BAR_HEIGHT = 16  # px per bar


def _alt() -> Any:
    return altair()


def _rows(summary: pd.DataFrame) -> pd.DataFrame:
    data = summary.copy()
    several = data[M.CONFIG].nunique(dropna=False) > 1
    data[ROW] = [f"{short_label(str(c))} · {t}" if several else str(t)
                 for c, t in zip(data[M.CONFIG], data[M.TARGET], strict=True)]
    return data


def _order(data: pd.DataFrame) -> list[str]:
    return list(data.sort_values(M.REQUESTS, ascending=False)[ROW])


def _height(rows: int, per_row: int) -> int:
    return max(60, rows * per_row * BAR_HEIGHT)


def _y(alt: Any, data: pd.DataFrame) -> Any:
    return alt.Y(f"{ROW}:N", title=None, sort=_order(data), axis=alt.Axis(labelLimit=LABEL_LIMIT))


def model_latency_bars(summary: pd.DataFrame, *, title: str = "Latency per model") -> Any:
    """p50, p95 and p99 (ms) of each target's successful answers, most requested target on top."""
    alt = _alt()
    data = _rows(summary)
    names = {c: metric(c).label for c in (M.P50_MS, M.P95_MS, M.P99_MS)}
    long = data.melt(id_vars=[ROW, M.REQUESTS, M.ERRORS], value_vars=list(names),
                     var_name="percentile", value_name="latency_ms").dropna(subset=["latency_ms"])
    long["percentile"] = long["percentile"].map(names)
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("latency_ms:Q", title=f"latency ({metric(M.P50_MS).unit})"),
        y=_y(alt, data),
        yOffset=alt.YOffset("percentile:N", sort=list(names.values())),
        color=alt.Color("percentile:N", sort=list(names.values()), scale=alt.Scale(range=list(PALETTE[:3])),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip(f"{ROW}:N", title="model"), alt.Tooltip("percentile:N"),
                 metric_tooltip(alt, M.P50_MS, field="latency_ms", title="latency (ms)"),
                 metric_tooltip(alt, M.REQUESTS), metric_tooltip(alt, M.ERRORS)],
    ).properties(width=WIDTH - 160, height=_height(len(data), 3), title=title)


def cold_warm_bars(summary: pd.DataFrame, *, title: str = "Cold against warm latency per model") -> Any:
    """Median latency of cold answers (the model was loading) and warm ones (it was loaded); p99 as a tick."""
    alt = _alt()
    pd = optional_import("pandas")
    data = _rows(summary)
    records = []
    for _, row in data.iterrows():
        for kind, p50, p99, count in (("cold", M.COLD_P50_MS, M.COLD_P99_MS, row[M.COLD_REQUESTS]),
                                      ("warm", M.WARM_P50_MS, M.WARM_P99_MS,
                                       row[M.REQUESTS] - row[M.ERRORS] - (row[M.COLD_REQUESTS] or 0))):
            if pd.notna(row[p50]):
                records.append({ROW: row[ROW], "kind": kind, "p50_ms": row[p50], "p99_ms": row[p99],
                                "answers": count, "load_ms_mean": row[M.LOAD_MS_MEAN]})
    long = pd.DataFrame(records, columns=[ROW, "kind", "p50_ms", "p99_ms", "answers", "load_ms_mean"])
    color = alt.Color("kind:N", title=None, sort=["warm", "cold"],
                      scale=alt.Scale(domain=["warm", "cold"], range=[WARM_COLOR, COLD_COLOR]),
                      legend=alt.Legend(orient="bottom"))
    y, offset = _y(alt, data), alt.YOffset("kind:N", sort=["warm", "cold"])
    tips = [alt.Tooltip(f"{ROW}:N", title="model"), alt.Tooltip("kind:N"), metric_tooltip(alt, M.P50_MS),
            metric_tooltip(alt, M.P99_MS), metric_tooltip(alt, M.REQUESTS, field="answers", title="answers"),
            metric_tooltip(alt, M.LOAD_MS_MEAN)]
    bars = alt.Chart(long).mark_bar().encode(x=alt.X("p50_ms:Q", title="latency (ms): bar p50, tick p99"),
                                             y=y, yOffset=offset, color=color, tooltip=tips)
    ticks = alt.Chart(long).mark_tick(thickness=2, color="#333").encode(x="p99_ms:Q", y=y, yOffset=offset,
                                                                          tooltip=tips)
    subtitle = "cold: the model was not loaded (it loaded, or waited for its load)"
    return alt.layer(bars, ticks).properties(width=WIDTH - 160, height=_height(len(data), 2),
                                             title=alt.TitleParams(title, subtitle=subtitle))


def hit_rate_bars(summary: pd.DataFrame, *, title: str = "Model cache hit rate") -> Any:
    """Each target's hit rate (0-100%), labelled with its share of the requests."""
    alt = _alt()
    data = _rows(summary)
    data = data[data[M.HIT_RATE].notna()].copy()
    data["share_text"] = [f"{metric(M.SHARE).format(s)} of requests" if s == s else "" for s in data[M.SHARE]]
    tips = [alt.Tooltip(f"{ROW}:N", title="model"),
            *(metric_tooltip(alt, c) for c in (M.HIT_RATE, M.SHARE, M.LOADS))]
    bars = alt.Chart(data).mark_bar(color=WARM_COLOR).encode(
        x=alt.X(f"{M.HIT_RATE}:Q", title=metric_title(M.HIT_RATE), scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        y=_y(alt, data), tooltip=tips)
    text = bars.mark_text(align="left", dx=3, fontSize=10, color="#333").encode(text="share_text:N")
    return alt.layer(bars, text).properties(width=WIDTH - 160, height=_height(len(data), 1), title=title)


def popularity_bars(probabilities: Mapping[str, float], observed: Mapping[str, float] | None = None, *,
                    title: str = "Model popularity") -> Any:
    """The share of requests each name should get (bars) and, when given, the share it got (dots)."""
    alt = _alt()
    pd = optional_import("pandas")
    names = list(probabilities)
    data = pd.DataFrame({"name": names, "expected": [float(probabilities[n]) for n in names]})
    y = alt.Y("name:N", title=None, sort=names, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    bars = alt.Chart(data).mark_bar(color=WARM_COLOR).encode(
        x=alt.X("expected:Q", title="share of requests", axis=alt.Axis(format="%")), y=y,
        tooltip=[alt.Tooltip("name:N", title="model"), alt.Tooltip("expected:Q", title="expected", format=".1%")])
    layers = [bars]
    if observed:
        seen = pd.DataFrame({"name": names, "observed": [float(observed.get(n, 0.0)) for n in names]})
        layers.append(alt.Chart(seen).mark_point(color=COLD_COLOR, filled=True, size=60).encode(
            x="observed:Q", y=y,
            tooltip=[alt.Tooltip("name:N", title="model"), alt.Tooltip("observed:Q", title="observed", format=".1%")]))
    return alt.layer(*layers).properties(width=WIDTH - 160, height=_height(len(names), 1), title=title)


def model_charts(result: Any) -> dict[str, Any]:
    """The per-model charts a result supports (none without ``irkit.per_model``)."""
    summary = M.model_summary(result)
    if summary.empty:
        return {}
    charts = {"model_latency": model_latency_bars(summary)}
    if summary[M.COLD_P50_MS].notna().any() or summary[M.WARM_P50_MS].notna().any():
        charts["cold_warm"] = cold_warm_bars(summary)
    if summary[M.HIT_RATE].notna().any():
        charts["hit_rate"] = hit_rate_bars(summary)
    return charts
