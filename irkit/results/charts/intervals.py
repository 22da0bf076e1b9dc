"""Chart pieces that show how sure a number is: 95% error bars, flags and tooltips.

``charts.core`` layers these over its bars and points when the frame has MaxInvocations' interval
(``irkit.results.confidence``); a frame without it (an older result, a SageMaker job) gets no layer
and the charts look as before. Unstable configurations and a load generator that shared the
server's cores are written next to the mark, in ``FLAG_COLOR``, not only in a tooltip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irkit.results.confidence import (  # noqa: F401 - with_quality and its columns are used through here
    CI_TEXT,
    COST_PER_MILLION_HI,
    COST_PER_MILLION_LO,
    FLAGS,
    GENERATOR_CPU,
    MAX_INVOCATIONS_HI,
    MAX_INVOCATIONS_LO,
    STABLE,
    VALUE_TEXT,
    has_flags,
    has_intervals,
    with_quality,
)

if TYPE_CHECKING:
    import pandas as pd

FLAG_COLOR = "#b35806"  # dark orange: a warning, distinct from the recommendation's red
WHISKER_COLOR = "#333"


def tooltips(alt: Any, data: pd.DataFrame) -> list[Any]:
    """The interval and the flags, when the data has any."""
    tips = []
    if has_intervals(data):
        tips.append(alt.Tooltip(f"{CI_TEXT}:N", title="max invocations 95% interval (requests/min)"))
    if has_flags(data):
        tips.append(alt.Tooltip(f"{FLAGS}:N", title="measurement warnings"))
    if GENERATOR_CPU in data and data[GENERATOR_CPU].notna().any():
        tips.append(alt.Tooltip(f"{GENERATOR_CPU}:Q", title="load generator CPU (%)", format=".0f"))
    return tips


def bar_whiskers(alt: Any, data: pd.DataFrame, y: Any, title: str) -> Any | None:
    """Horizontal 95% error bars over MaxInvocations bars (``y``: the bars' y; ``title``: the x axis'), or None."""
    shown = data[data[CI_TEXT] != ""] if has_intervals(data) else None
    if shown is None or shown.empty:
        return None
    return alt.Chart(shown).mark_errorbar(ticks=True, color=WHISKER_COLOR, thickness=1.5).encode(
        x=alt.X(f"{MAX_INVOCATIONS_LO}:Q", title=title), x2=alt.X2(f"{MAX_INVOCATIONS_HI}"), y=y,
        tooltip=[alt.Tooltip(f"{CI_TEXT}:N", title="95% interval (requests/min)")],
    )


def point_whiskers(alt: Any, data: pd.DataFrame, x: Any, title: str, scale: Any) -> Any | None:
    """Vertical 95% error bars of cost per 1M inferences at each point, or None.

    ``x``: the points' x encoding; ``title`` and ``scale``: their y axis'.
    """
    shown = data[data[COST_PER_MILLION_LO].notna() & data[COST_PER_MILLION_HI].notna()]
    if shown.empty:
        return None
    low = alt.Y(f"{COST_PER_MILLION_LO}:Q", title=title, scale=scale)
    return alt.Chart(shown).mark_errorbar(ticks=True, color=WHISKER_COLOR, thickness=1.2).encode(
        x=x, y=low, y2=alt.Y2(f"{COST_PER_MILLION_HI}"),
        tooltip=[alt.Tooltip(f"{COST_PER_MILLION_LO}:Q", title="cost per 1M, 95% low ($)", format=",.3f"),
                 alt.Tooltip(f"{COST_PER_MILLION_HI}:Q", title="cost per 1M, 95% high ($)", format=",.3f")],
    )


def flag_text(alt: Any, data: pd.DataFrame, x: Any, y: Any, **mark: Any) -> Any | None:
    """The flags written beside each flagged mark (``x``/``y``: the marks' encodings), or None."""
    if not has_flags(data):
        return None
    style = {"align": "left", "dx": 10, "dy": 12, "fontSize": 10, "color": FLAG_COLOR, **mark}
    return alt.Chart(data[data[FLAGS] != ""]).mark_text(**style).encode(x=x, y=y, text=f"{FLAGS}:N")


def subtitle_lines(data: pd.DataFrame, what: str = "MaxInvocations", flag_mark: str = "orange") -> list[str]:
    """What the extra marks mean, for a chart subtitle (empty when there are none)."""
    lines = []
    if has_intervals(data):
        lines.append(f"whiskers: 95% interval of {what}")
    if has_flags(data):
        lines.append(f"{flag_mark}: unstable measurement, or load generator on the server's cores")
    return lines


STEP_TIPS = ((STABLE, "N", "level settled (stable)", None), ("windows", "Q", "measurement windows", "d"),
             (GENERATOR_CPU, "Q", "load generator CPU (%)", ".0f"), ("target_rps", "Q", "target req/s", ".1f"),
             ("achieved_rps", "Q", "achieved req/s", ".1f"), ("late", "Q", "late sends", "d"),
             ("dropped", "Q", "dropped sends", "d"))


def step_tooltips(alt: Any, steps: pd.DataFrame) -> list[Any]:
    """Tooltips for the per-step quality columns the steps have (stability, windows, generator, open loop)."""
    tips = []
    for column, kind, title, fmt in STEP_TIPS:
        if column in steps and steps[column].notna().any():
            tips.append(alt.Tooltip(f"{column}:{kind}", title=title, **({"format": fmt} if fmt else {})))
    return tips


def unstable_steps(alt: Any, steps: pd.DataFrame, x: Any, y: Any) -> Any | None:
    """An orange cross on each level that never settled, or None when every level did (or none says)."""
    if STABLE not in steps:
        return None
    shown = steps[steps[STABLE].fillna(True).astype(bool) == False]  # noqa: E712 - NA counts as settled
    if shown.empty:
        return None
    return alt.Chart(shown).mark_point(shape="cross", size=140, color=FLAG_COLOR, filled=True, strokeWidth=1).encode(
        x=x, y=y, tooltip=[alt.Tooltip(f"{STABLE}:N", title="level settled (stable)")])
