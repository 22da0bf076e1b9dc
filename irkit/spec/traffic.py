"""IR's traffic patterns as pure arithmetic: how many users at time t, and the steps a curve is cut into.

No locust import here: the locustfile's ``LoadTestShape.tick()`` delegates to :func:`tick`, and the
same functions serve previews and tests without running anything.

Semantics (SageMaker Inference Recommender's, exactly):

- **PHASES**: phase i starts when the phases before it have run their ``duration_in_seconds``. It
  starts at ``initial_number_of_users`` and adds ``spawn_rate`` users **per minute** (IR's unit;
  Locust's spawn rate is per second). At ``s`` seconds into a phase the target is
  ``initial + floor(spawn_rate * s / 60)`` users: the count itself climbs one user at a time, and the
  rate handed to Locust (users/s) is high enough that each change lands at once.
- **STAIRS**: step k (1-based) has ``k * users_per_step`` users for ``duration_in_seconds`` (the length
  of *each* step, as in IR's API), ``number_of_steps`` steps.
- **Open loop** (irkit's extension): one window per rate in ``rates_per_second``, each
  ``duration_in_seconds`` long; arrivals are Poisson at that rate.

A STAIRS step is one result step. A PHASES phase is cut into windows of ``window_s`` (default
``DEFAULT_WINDOW_S``, or the whole phase when it is shorter) so its curve has points; a window's
``users`` is the target at its last instant (the most users it had).

A job with neither phases, stairs nor open loop (a Default job) runs no fixed traffic locally: the
load engine searches the knee (irkit.load.knee_search), so :func:`job_traffic` is None for it.
:func:`timeline` gives the corner points a preview draws: a phase is the ramp
``initial + spawn_rate * s / 60`` (:func:`phase_ramp`) and :func:`users_at` is that ramp's floor.

Everything that needs users over time, durations or steps calls this module: the Locust shape, the
load generator's windows, the runner, ``charts.traffic_preview`` and the traffic panel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from irkit.spec.parts import Stairs, TrafficPattern

DEFAULT_WINDOW_S = 10.0  # PHASES are reported in windows this long (or the phase, if shorter)
SPAWN_AT_ONCE_PER_S = 100.0  # Locust users/s used for a jump in the target: lands within a tick
SECONDS_PER_MINUTE = 60.0

TRAFFIC_PHASES = "PHASES"
TRAFFIC_STAIRS = "STAIRS"
TRAFFIC_OPEN_LOOP = "OPEN_LOOP"

# Fixed stairs for a caller that wants a Default job's traffic drawn as a pattern anyway: 4 stairs
# of 15 s, +1 user each (the local backend ran these before it searched the knee; SageMaker picks
# its own traffic for a Default job).
DEFAULT_STAIRS = {"duration_in_seconds": 15, "number_of_steps": 4, "users_per_step": 1}


@dataclass(frozen=True)
class StepWindow:
    """One result step: ``[start_s, start_s + duration_s)`` of the run, with its users or target rate."""

    index: int
    start_s: float
    duration_s: float
    users: int
    phase: int | None = None  # PHASES: the 0-based phase the window belongs to
    target_rps: float | None = None  # open loop: the Poisson arrival rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepWindow:
        return cls(int(data["index"]), float(data["start_s"]), float(data["duration_s"]), int(data["users"]),
                   data.get("phase"), data.get("target_rps"))


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def locust_spawn_rate(spawn_rate_per_minute: float) -> float:
    """IR's SpawnRate (users per minute) in Locust's unit (users per second)."""
    return float(spawn_rate_per_minute) / SECONDS_PER_MINUTE


def phase_ramp(phase: Any, seconds_into_phase: float) -> float:
    """The ramp of an IR phase: ``initial + spawn_rate * s / 60`` users (fractional), s >= 0."""
    initial = float(_field(phase, "initial_number_of_users"))
    return initial + locust_spawn_rate(_field(phase, "spawn_rate")) * max(0.0, seconds_into_phase)


def phase_users(phase: Any, seconds_into_phase: float) -> int:
    """Users of an IR phase ``seconds_into_phase`` after it started: the floor of its ramp."""
    return math.floor(phase_ramp(phase, seconds_into_phase) + 1e-9)


def traffic_kind(traffic: Any) -> str:
    """``"STAIRS"`` or ``"PHASES"`` for an ``irkit.spec.TrafficPattern`` (or a dict with the same keys)."""
    stairs = _field(traffic, "stairs") if _has(traffic, "stairs") else None
    if stairs is not None:
        return TRAFFIC_STAIRS
    return TRAFFIC_PHASES


def _has(item: Any, name: str) -> bool:
    return name in item if isinstance(item, dict) else hasattr(item, name)


def _phases(traffic: Any) -> Sequence[Any]:
    return tuple(_field(traffic, "phases") or ()) if _has(traffic, "phases") else ()


def default_traffic() -> TrafficPattern:
    """:data:`DEFAULT_STAIRS` as a pattern."""
    return TrafficPattern(TRAFFIC_STAIRS, (), Stairs(**DEFAULT_STAIRS))


def job_traffic(spec: Any) -> TrafficPattern | None:
    """The fixed traffic a job runs: ``spec.traffic()``; None for a Default job, which runs the knee
    search on the local backend (its users are chosen while it runs)."""
    traffic: TrafficPattern | None = spec.traffic()
    return traffic


def total_seconds(traffic: Any) -> float:
    """How long the pattern runs: the sum of its phases, or steps x step length (None: 0)."""
    if traffic is None:
        return 0.0
    if traffic_kind(traffic) == TRAFFIC_STAIRS:
        stairs = _field(traffic, "stairs")
        return float(_field(stairs, "duration_in_seconds")) * int(_field(stairs, "number_of_steps"))
    return float(sum(float(_field(p, "duration_in_seconds")) for p in _phases(traffic)))


def users_at(traffic: Any, elapsed_s: float) -> int | None:
    """Target users ``elapsed_s`` into the run, or None once the pattern is over."""
    if elapsed_s < 0:
        elapsed_s = 0.0
    if traffic_kind(traffic) == TRAFFIC_STAIRS:
        stairs = _field(traffic, "stairs")
        step_s = float(_field(stairs, "duration_in_seconds"))
        k = int(elapsed_s // step_s) + 1
        if k > int(_field(stairs, "number_of_steps")):
            return None
        return k * int(_field(stairs, "users_per_step"))
    start = 0.0
    for phase in _phases(traffic):
        length = float(_field(phase, "duration_in_seconds"))
        if elapsed_s < start + length:
            return phase_users(phase, elapsed_s - start)
        start += length
    return None


def tick(traffic: Any, elapsed_s: float) -> tuple[int, float] | None:
    """Locust ``LoadTestShape.tick()``: ``(users, spawn_rate users/s)`` at ``elapsed_s``, None when done.

    The target already follows IR's per-minute schedule, so the Locust rate only has to make each
    change land within one tick.
    """
    users = users_at(traffic, elapsed_s)
    if users is None:
        return None
    return users, max(SPAWN_AT_ONCE_PER_S, float(users))


def step_windows(traffic: Any, window_s: float = DEFAULT_WINDOW_S) -> list[StepWindow]:
    """The result steps of a pattern: one per stair step; each phase cut into ``window_s`` windows."""
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    if traffic_kind(traffic) == TRAFFIC_STAIRS:
        stairs = _field(traffic, "stairs")
        step_s = float(_field(stairs, "duration_in_seconds"))
        per_step = int(_field(stairs, "users_per_step"))
        return [StepWindow(k, k * step_s, step_s, (k + 1) * per_step)
                for k in range(int(_field(stairs, "number_of_steps")))]
    windows: list[StepWindow] = []
    start = 0.0
    for phase_index, phase in enumerate(_phases(traffic)):
        length = float(_field(phase, "duration_in_seconds"))
        offset = 0.0
        while offset < length - 1e-9:
            duration = min(window_s, length - offset)
            # The most users the window had: the target just before it ends.
            users = phase_users(phase, max(0.0, offset + duration - 1e-6))
            windows.append(StepWindow(len(windows), start + offset, duration, users, phase=phase_index))
            offset += duration
        start += length
    return windows


class TimelinePoint(NamedTuple):
    """A corner of the users-over-time line: ``(seconds, users, segment)``, segment "phase 1"/"step 2"."""

    seconds: float
    users: float
    segment: str


def timeline(traffic: Any) -> list[TimelinePoint]:
    """The corner points of users over time, in time order: what a preview draws between.

    STAIRS: each step's start and end at its users. PHASES: each phase's ramp from its start to its
    end (:func:`phase_ramp`; the users the load shape runs are its floor, :func:`users_at`).
    """
    points: list[TimelinePoint] = []
    if traffic_kind(traffic) == TRAFFIC_STAIRS:
        for window in step_windows(traffic):
            label = f"step {window.index + 1}"
            points += [TimelinePoint(window.start_s, float(window.users), label),
                       TimelinePoint(window.end_s, float(window.users), label)]
        return points
    start = 0.0
    for i, phase in enumerate(_phases(traffic)):
        length = float(_field(phase, "duration_in_seconds"))
        label = f"phase {i + 1}"
        points += [TimelinePoint(start, phase_ramp(phase, 0.0), label),
                   TimelinePoint(start + length, round(phase_ramp(phase, length), 3), label)]
        start += length
    return points


def run_seconds(traffic: Any, open_loop: Any = None) -> float:
    """How long a load test runs: its open-loop rates (one window each) when given, else its traffic."""
    if open_loop is not None:
        return float(len(_field(open_loop, "rates_per_second")) * float(_field(open_loop, "duration_in_seconds")))
    return total_seconds(traffic)


def open_loop_windows(open_loop: Any, generators: int = 1) -> list[StepWindow]:
    """One step per Poisson rate. ``users`` is the number of generator processes sharing the rate."""
    duration = float(_field(open_loop, "duration_in_seconds"))
    rates = [float(r) for r in _field(open_loop, "rates_per_second")]
    return [StepWindow(k, k * duration, duration, max(1, generators), target_rps=rate)
            for k, rate in enumerate(rates)]


def window_index(windows: Sequence[StepWindow], elapsed_s: float) -> int | None:
    """The index of the window holding ``elapsed_s`` (before the first: 0), or None after the last."""
    if not windows:
        return None
    if elapsed_s < windows[0].start_s:
        return 0
    for window in windows:
        if elapsed_s < window.end_s:
            return window.index
    return None
