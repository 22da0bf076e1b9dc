"""Users over time of a traffic pattern, as points for ``charts.traffic_preview``.

The arithmetic is ``irkit.spec.traffic.timeline``: the same the local backend's load shape runs
(PHASES add ``spawn_rate`` users per minute, STAIRS ``users_per_step`` per step, a Default job runs
``DEFAULT_STAIRS``). This module only reads the chart's input into a TrafficPattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit.errors import SpecError
from irkit.spec import traffic as shapes


def _traffic(spec: Any) -> Any:
    """A TrafficPattern from a JobSpec, a TrafficPattern, or a spec dict."""
    from irkit.spec import JobSpec, TrafficPattern

    if isinstance(spec, TrafficPattern):
        return spec
    if isinstance(spec, Mapping):
        spec = JobSpec.from_dict(dict(spec))
    if isinstance(spec, JobSpec):
        return shapes.job_traffic(spec)  # a Default job: the backend's default stairs
    raise SpecError("traffic", f"expected a JobSpec, TrafficPattern or spec dict, got {type(spec).__name__}")


def traffic_points(spec: Any) -> list[tuple[float, float, str]]:
    """``(seconds, users, segment)`` corner points of the load shape, in time order."""
    return list(shapes.timeline(_traffic(spec)))
