"""Users over time of a traffic pattern, as points for ``charts.traffic_preview``.

The arithmetic is ``irkit.spec.traffic.timeline``: the same the local backend's load shape runs
(PHASES add ``spawn_rate`` users per minute, STAIRS ``users_per_step`` per step). A Default job
runs a knee search, whose users are chosen while it runs: it has no fixed shape to preview. This
module only reads the chart's input into a TrafficPattern.
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
        traffic = shapes.job_traffic(spec)
        if traffic is None:
            raise SpecError("traffic", "this job gives no phases or stairs: it runs a knee search (concurrency "
                                       "1, 2, 4, ... chosen while it runs), which has no fixed shape to preview")
        return traffic
    raise SpecError("traffic", f"expected a JobSpec, TrafficPattern or spec dict, got {type(spec).__name__}")


def traffic_points(spec: Any) -> list[tuple[float, float, str]]:
    """``(seconds, users, segment)`` corner points of the load shape, in time order."""
    return list(shapes.timeline(_traffic(spec)))
