"""Users over time of a traffic pattern, as points for ``charts.traffic_preview`` (pure arithmetic).

PHASES: each phase starts at ``initial_number_of_users`` and adds ``spawn_rate`` users per minute
(IR's Phase.SpawnRate) for ``duration_in_seconds``. STAIRS: ``number_of_steps`` steps of
``duration_in_seconds`` each, ``users_per_step`` more users per step. When the local backend's
``irkit.backends.local.shapes`` offers ``users_over_time(traffic)``, its points are used instead,
so the preview draws exactly what Locust will run.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from irkit.errors import SpecError

SHAPES_MODULE = "irkit.backends.local.shapes"
SECONDS_PER_MINUTE = 60.0
DEFAULT_STAIRS = {"duration_in_seconds": 15, "number_of_steps": 4, "users_per_step": 1}


def _traffic(spec: Any) -> Any:
    """A TrafficPattern from a JobSpec, a TrafficPattern, or a spec dict."""
    from irkit.spec import JobSpec, TrafficPattern

    if isinstance(spec, TrafficPattern):
        return spec
    if isinstance(spec, Mapping):
        spec = JobSpec.from_dict(dict(spec))
    if isinstance(spec, JobSpec):
        traffic = spec.traffic()
        if traffic is None:  # a Default job: the backend's default stairs
            from irkit.spec_parts import Stairs

            return TrafficPattern("STAIRS", (), Stairs(**DEFAULT_STAIRS))
        return traffic
    raise SpecError("traffic", f"expected a JobSpec, TrafficPattern or spec dict, got {type(spec).__name__}")


def _from_shapes(traffic: Any) -> list[tuple[float, float, str]] | None:
    try:
        shapes = importlib.import_module(SHAPES_MODULE)
    except ImportError:
        return None
    users_over_time = getattr(shapes, "users_over_time", None)
    if users_over_time is None:
        return None
    try:
        points = users_over_time(traffic)
        return [(float(p[0]), float(p[1]), str(p[2]) if len(p) > 2 else "") for p in points]
    except Exception:  # noqa: BLE001 - a different signature: fall back to the spec's own fields
        return None


def traffic_points(spec: Any) -> list[tuple[float, float, str]]:
    """``(seconds, users, segment)`` corner points of the load shape, in time order."""
    traffic = _traffic(spec)
    shaped = _from_shapes(traffic)
    if shaped:
        return shaped
    points: list[tuple[float, float, str]] = []
    if traffic.stairs is not None:
        stairs = traffic.stairs
        for k in range(stairs.number_of_steps):
            users = float((k + 1) * stairs.users_per_step)
            start = float(k * stairs.duration_in_seconds)
            label = f"step {k + 1}"
            points += [(start, users, label), (start + stairs.duration_in_seconds, users, label)]
        return points
    start = 0.0
    for i, phase in enumerate(traffic.phases):
        first = float(phase.initial_number_of_users)
        last = first + phase.spawn_rate * phase.duration_in_seconds / SECONDS_PER_MINUTE
        label = f"phase {i + 1}"
        points += [(start, first, label), (start + phase.duration_in_seconds, round(last, 3), label)]
        start += phase.duration_in_seconds
    return points
