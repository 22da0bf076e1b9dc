"""What every irkit chart shares: sizes, colours, the instance-type colour scale, metric axes and tooltips.

Both ``charts.core`` and ``charts.models`` import this module and neither imports the other's
styling, so there is no import cycle between them. Axis titles, tooltip titles and number formats
come from the metric records (``irkit.results.metrics``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from irkit._lazy import optional_import
from irkit.results.frame import INSTANCE_TYPE
from irkit.results.metrics import metric

WIDTH = 420
HEIGHT = 260
BAR_HEIGHT = 22  # px per configuration in the bar chart
LABEL_LIMIT = 230  # px of a configuration label before it is cut with an ellipsis
RECOMMENDED_COLOR = "#d62728"
COLD_COLOR, WARM_COLOR = "#d62728", "#4c78a8"
# Tableau 10 without its red, which marks the recommendation and the SLO
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#eeca3b", "#72b7b2", "#ff9da6", "#9d755d", "#bab0ac")
LAST_TYPES = ("serverless", "endpoint")  # instance types sorted after the real ones


def altair() -> Any:
    """The altair module (an actionable error when it is not installed)."""
    return optional_import("altair")


def instance_color(alt: Any, types: Iterable[Any]) -> Any:
    """The colour encoding for instance types: the same type gets the same colour in every chart.

    Types are sorted, with ``serverless`` and ``endpoint`` rows last, and take ``PALETTE`` in order.
    """
    order = sorted({str(t) for t in types}, key=lambda t: (t in LAST_TYPES, t == "endpoint", t))
    palette = [PALETTE[i % len(PALETTE)] for i in range(len(order))]
    return alt.Color(f"{INSTANCE_TYPE}:N", title="instance type", scale=alt.Scale(domain=order, range=palette),
                     legend=alt.Legend(orient="bottom", columns=2))


def metric_title(column: str) -> str:
    """``label (unit)`` of a metric column: the axis title."""
    return metric(column).title


def metric_tooltip(alt: Any, column: str, *, field: str | None = None, title: str | None = None) -> Any:
    """A tooltip for a metric column, titled and formatted by its record.

    ``field`` reads another data field with the same meaning (a melted column); ``title`` renames it.
    """
    m = metric(column)
    return alt.Tooltip(f"{field or column}:Q", title=title or m.title, format=m.fmt)
