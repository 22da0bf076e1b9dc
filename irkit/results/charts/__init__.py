"""Altair charts over the result frames; pure functions that return charts, nothing is shown."""

from __future__ import annotations

from irkit.results.charts.core import (  # noqa: F401
    BAR_HEIGHT,
    COST_PER_MILLION,
    HEIGHT,
    LABEL,
    LABEL_LIMIT,
    PALETTE,
    RECOMMENDED_COLOR,
    WIDTH,
    cost_vs_latency,
    history_trend,
    instance_color,
    max_invocations_bars,
    result_charts,
    step_curves,
    traffic_preview,
)
from irkit.results.charts.fidelity import cost_vs_fidelity  # noqa: F401
