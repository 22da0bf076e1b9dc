"""Users over time of a traffic pattern, as points for ``charts.traffic_preview`` (pure arithmetic).

PHASES: each phase starts at ``initial_number_of_users`` and adds ``spawn_rate`` users per minute
(IR's Phase.SpawnRate) for ``duration_in_seconds``. STAIRS: ``number_of_steps`` steps of
``duration_in_seconds`` each, ``users_per_step`` more users per step: the same arithmetic as the
local backend's load shape (``irkit.spec.traffic``), which the core does not import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit.errors import SpecError

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
            from irkit.spec.parts import Stairs

            return TrafficPattern("STAIRS", (), Stairs(**DEFAULT_STAIRS))
        return traffic
    raise SpecError("traffic", f"expected a JobSpec, TrafficPattern or spec dict, got {type(spec).__name__}")


def traffic_points(spec: Any) -> list[tuple[float, float, str]]:
    """``(seconds, users, segment)`` corner points of the load shape, in time order."""
    traffic = _traffic(spec)
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
