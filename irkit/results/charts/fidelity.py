"""Cost per 1M inferences against fidelity: what a cheaper runtime gives up (docs/runtimes.md).

``cost_vs_fidelity(frame)`` plots each recommendation that has fidelity (``irkit.results.fidelity``)
at its cost per 1M inferences (y) and its agreement with TensorFlow (x; ``fidelity=`` picks the
column, cosine similarity by default because top-k agreement is noisy on near-ties), coloured by
runtime and precision; TensorFlow is the reference at 1. A ``floor`` draws the fidelity floor used
in ranking; the recommendation is ringed. ``fidelity_charts(frame, ranked)`` is what
``result_charts`` adds: ``{"cost_vs_fidelity": chart}`` when the frame has fidelity, else ``{}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import irkit.results.frame as R
from irkit.results.charts.theme import (
    HEIGHT,
    PALETTE,
    RECOMMENDED_COLOR,
    WIDTH,
    altair,
    metric_title,
    metric_tooltip,
)
from irkit.results.fidelity import FIDELITY_COLUMNS, has_fidelity
from irkit.results.metrics import (
    COST_PER_MILLION,
    FIDELITY_COSINE,
    FIDELITY_MAX_ABS_DIFF,
    FIDELITY_TOP1,
    FIDELITY_TOP5,
    add_derived,
    metric,
)
from irkit.spec.runtimes import DEFAULT_PRECISION, DEFAULT_RUNTIME, PRECISION_ENV, RUNTIME_ENV

if TYPE_CHECKING:
    import pandas as pd

RUNTIME_LABEL = "runtime_label"  # derived: "openvino bf16"
CONFIG_LABEL = "config_label"


def _runtime_labels(data: pd.DataFrame) -> list[str]:
    def value(row: Any, column: str, default: str) -> str:
        v = row.get(column) if column in data else None
        return default if v is None or v != v or v == "" else str(v)

    return [f"{value(r, RUNTIME_ENV, DEFAULT_RUNTIME)} {value(r, PRECISION_ENV, DEFAULT_PRECISION)}"
            for r in data.to_dict("records")]


def cost_vs_fidelity(frame: pd.DataFrame, *, fidelity: str = FIDELITY_COSINE, ranked: pd.DataFrame | None = None,
                     floor: float | None = None, title: str | None = None) -> Any:
    """Cost per 1M inferences (y) against ``fidelity`` (x, a FIDELITY_COLUMNS column) per configuration."""
    if fidelity not in FIDELITY_COLUMNS or fidelity == FIDELITY_MAX_ABS_DIFF:
        raise ValueError(f"fidelity: use one of {FIDELITY_TOP1!r}, {FIDELITY_TOP5!r}, {FIDELITY_COSINE!r}")
    alt = altair()
    recs = R.recommendations(frame) if R.KIND in frame else frame
    data = add_derived(recs)
    data = data[data[fidelity].notna() & data[COST_PER_MILLION].notna()].copy()
    data[RUNTIME_LABEL] = _runtime_labels(data)
    data[CONFIG_LABEL] = data[R.CONFIG].map(R.short_label)
    low = float(min(data[fidelity].min(), floor if floor is not None else 1.0)) if len(data) else 0.0
    pad = max((1.0 - low) * 0.15, 1e-6 if fidelity == FIDELITY_COSINE else 0.01)
    x = alt.X(f"{fidelity}:Q", title=f"{metric_title(fidelity)} (right is closer)",
              scale=alt.Scale(domain=[max(0.0, low - pad), 1.0 + pad / 3], zero=False),
              axis=alt.Axis(format=metric(fidelity).fmt if fidelity != FIDELITY_COSINE else ".6~f"))
    y = alt.Y(f"{COST_PER_MILLION}:Q", title=metric_title(COST_PER_MILLION), axis=alt.Axis(format=",.4~g"),
              scale=alt.Scale(zero=False, nice=True))
    runtimes = sorted(set(data[RUNTIME_LABEL]))
    color = alt.Color(f"{RUNTIME_LABEL}:N", title="runtime", scale=alt.Scale(domain=runtimes,
                      range=list(PALETTE[: len(runtimes)]) or list(PALETTE[:1])), legend=alt.Legend(orient="bottom"))
    tips = [alt.Tooltip(f"{R.CONFIG}:N", title="configuration"), alt.Tooltip(f"{RUNTIME_LABEL}:N", title="runtime"),
            metric_tooltip(alt, COST_PER_MILLION), metric_tooltip(alt, R.MAX_INVOCATIONS),
            *(metric_tooltip(alt, c) for c in FIDELITY_COLUMNS)]
    base = alt.Chart(data)
    layers = [base.mark_circle(size=120, opacity=0.85).encode(x=x, y=y, color=color, tooltip=tips),
              base.mark_text(align="left", dx=9, dy=-8, fontSize=10).encode(x=x, y=y, text=f"{RUNTIME_LABEL}:N")]
    if floor is not None:
        import pandas as pd

        rule = alt.Chart(pd.DataFrame({fidelity: [floor], "note": [f"floor {metric(fidelity).format(floor)}"]}))
        layers += [rule.mark_rule(color="#999", strokeDash=[4, 3]).encode(x=x),
                   rule.mark_text(align="left", dx=4, dy=-HEIGHT / 2 + 8, color="#777").encode(x=x, text="note:N")]
    if ranked is not None and len(ranked) and ranked[R.CONFIG].iloc[0] in set(data[R.CONFIG]):
        best = data[data[R.CONFIG] == ranked[R.CONFIG].iloc[0]]
        layers.append(alt.Chart(best).mark_point(shape="circle", size=420, strokeWidth=2.5, filled=False,
                                                 color=RECOMMENDED_COLOR).encode(x=x, y=y, tooltip=tips))
    chart_title = title or alt.TitleParams(
        "Cost vs fidelity (lower right is better)",
        subtitle=[f"x: {metric(fidelity).label}; TensorFlow fp32 is the reference at 1",
                  "red ring: the recommendation"])
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=chart_title)


def fidelity_charts(frame: pd.DataFrame, ranked: pd.DataFrame | None = None) -> dict[str, Any]:
    """``{"cost_vs_fidelity": chart}`` when ``frame`` has fidelity; ``{}`` otherwise."""
    from irkit.results.fidelity import FLOOR_ATTR, FLOORS

    if not has_fidelity(R.recommendations(frame) if R.KIND in frame else frame):
        return {}
    floors = (ranked.attrs.get(FLOOR_ATTR) or {}) if ranked is not None else {}
    column, floor = FIDELITY_COSINE, floors.get("min_cosine")
    for name in ("min_top5_agreement", "min_top1_agreement"):  # draw the floor ranking used, on its own axis
        if name in floors:
            column, floor = FLOORS[name], floors[name]
    return {"cost_vs_fidelity": cost_vs_fidelity(frame, fidelity=column, ranked=ranked, floor=floor)}
