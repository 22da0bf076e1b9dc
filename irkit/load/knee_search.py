"""Knee search: find the concurrency where throughput levels off, spending time where the curve bends.

Prior art: Triton Model Analyzer's concurrency sweep (stop when the gain falls under 5%, then a
binary search), perf_analyzer's ``--binary-search`` and MLPerf LoadGen's FindPeakPerformance.

1. **Doubling**: concurrency 1, 2, 4, ... (capped at ``max_users``) until a level gains less than
   ``GROWTH`` (5%) over the best so far (``levelled``), breaks the SLO (``latency_threshold`` /
   ``errors``; a level with no answer at all counts as ``no_data``), reaches ``max_invocations``,
   or ``max_users`` is reached while still growing (``not_saturated``: a lower bound, and the
   search ends there).
2. **SLO bisection**: between the highest level inside the SLO and the lowest outside it, until they
   are one user apart: the highest concurrency inside the latency SLO.
3. **Peak bisection**: when the next level above the best reads measurably lower (a server that
   thrashes past its peak: batched local.cpu2 here served 39 req/s at 6 connections, 35 at 4 and 30
   at 8), between the best and that level, until they are one user apart; so a peak between two
   powers of two is not missed.
4. **Knee bisection**: among the levels inside the SLO, between the lowest level whose throughput
   cannot be told apart from the best (estimate.py) and the level below it, until they are one user
   apart: the knee.
5. **Confirmation**: the best level inside the SLO is measured once more, and MaxInvocations is the
   mean over both measurements' windows (knee.py rule 4). The best of several noisy levels is
   chosen *because* it read high; an independent second measurement of it is not, so the estimate
   loses that bias and its interval gets twice the windows (LoadGen's FindPeakPerformance also ends
   on a confirming run). At most ``CONFIRMATIONS`` re-measures: only if another level then reads
   measurably higher than the confirmed one (knee.confirmed_level) is that one confirmed too.

The first ``WARMUP_S`` seconds (at 1 user) are served but not measured: the first level of a job
read 15.3 req/s and its re-measure 17.5 on a fresh local.cpu1 server in ``make demo``.

:class:`KneeSearch` is the pure controller: ``next_users(steps)`` is a function of the level STEPs
measured so far (in any order), so it is tested against a simulated server. :class:`KneeDriver`
runs it inside ``run_load``: it writes the target level to a control file the locustfile's shape
reads, turns the generator's ticks into windows (windows.py) and a finished level into a STEP.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irkit.load import estimate, windows
from irkit.load.knee import (
    REASON_LEVELLED,
    REASON_MAX_INVOCATIONS,
    REASON_NO_DATA,
    REASON_NOT_SATURATED,
    Plateau,
    breaks_slo,
    confirmed_level,
    find_plateau,
)

GROWTH = 0.05  # a doubling must raise throughput by more than this to go on
CONFIRMATIONS = 2  # re-measures of the best level, at most
WARMUP_S = 2.0  # the first seconds at 1 user are not measured: a fresh server and generator warm up
DEFAULT_MAX_USERS = 64


@dataclass(frozen=True)
class KneeSettings:
    """The spec's ``knee_search`` block (all optional): how far to search and how to measure a level."""

    max_users: int = DEFAULT_MAX_USERS
    window_seconds: float = windows.DEFAULT_WINDOW_S
    stability: float = windows.DEFAULT_STABILITY
    min_requests: int = windows.DEFAULT_MIN_REQUESTS
    max_level_seconds: float = windows.DEFAULT_MAX_LEVEL_S

    @classmethod
    def from_value(cls, value: Any) -> KneeSettings:
        """From None (defaults), a mapping, or anything with these attributes (``irkit.spec.KneeSearch``)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        names = ("max_users", "window_seconds", "stability", "min_requests", "max_level_seconds")
        get = value.get if isinstance(value, Mapping) else (lambda k: getattr(value, k, None))
        given: dict[str, Any] = {k: get(k) for k in names if get(k) is not None}
        return cls(**given)

    def rule(self) -> windows.WindowRule:
        return windows.WindowRule(window_seconds=float(self.window_seconds), min_requests=int(self.min_requests),
                                  tolerance=float(self.stability), max_level_seconds=float(self.max_level_seconds))

    def to_dict(self) -> dict[str, Any]:
        return {"max_users": self.max_users, "window_seconds": self.window_seconds, "stability": self.stability,
                "min_requests": self.min_requests, "max_level_seconds": self.max_level_seconds}

    def bound_s(self) -> float:
        """A generous bound on a whole search: doubling and both bisections, each level at its cap."""
        doublings = max(1, int(self.max_users - 1).bit_length() + 1)
        return (3 * doublings + CONFIRMATIONS) * (self.max_level_seconds + 2.0) + WARMUP_S


class KneeSearch:
    """The pure controller. ``steps`` are level STEPs (``users``, ``rps``, ``windows``, latencies)."""

    def __init__(self, settings: KneeSettings | None = None, *, threshold_ms: float | None = None,
                 percentile: str | None = "P95", max_invocations: int | None = None) -> None:
        self.settings = settings or KneeSettings()
        self.threshold_ms, self.percentile, self.max_invocations = threshold_ms, percentile, max_invocations

    def _broken(self, step: dict[str, Any]) -> str | None:
        if not (step.get("requests") or 0):
            return REASON_NO_DATA
        return breaks_slo(step, self.threshold_ms, self.percentile)

    @staticmethod
    def _levels(steps: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """One STEP per users value; a level measured twice is merged (estimate.merge_steps)."""
        grouped: dict[int, list[dict[str, Any]]] = {}
        for step in steps:
            grouped.setdefault(int(step["users"]), []).append(step)
        return {users: estimate.merge_steps(group) for users, group in grouped.items()}

    def _doubling(self, levels: dict[int, dict[str, Any]]) -> tuple[int | None, str]:
        """(the next power to measure, or None; why the doubling stopped)."""
        best, users = 0.0, 1
        while True:
            if users not in levels:
                return users, ""
            step = levels[users]
            broken = self._broken(step)
            if broken:
                return None, broken
            rps = estimate.level_estimate(0, step).mean
            if self.max_invocations and rps * 60 >= self.max_invocations:
                return None, REASON_MAX_INVOCATIONS
            if best > 0 and rps < best * (1 + GROWTH):
                return None, REASON_LEVELLED
            best = max(best, rps)
            if users >= self.settings.max_users:
                return None, REASON_NOT_SATURATED
            users = min(users * 2, self.settings.max_users)

    def next_users(self, steps: Sequence[dict[str, Any]]) -> int | None:
        """The concurrency to measure next, or None when the knee is found and its best level confirmed."""
        levels = self._levels(steps)
        searching = self._search_next(levels)
        if searching is not None:
            return searching
        return self._confirm_next(steps, levels)

    def _confirm_next(self, steps: Sequence[dict[str, Any]], levels: dict[int, dict[str, Any]]) -> int | None:
        """The best level inside the SLO, to measure again, while it has one measurement (step 5)."""
        repeats = len(steps) - len(levels)
        if repeats >= CONFIRMATIONS or self.reason(steps) in ("", REASON_NO_DATA):
            return None
        inside: list[int] = []
        for users in sorted(levels):
            if self._broken(levels[users]):
                break
            inside.append(users)
        if not inside:
            return None
        ests = [estimate.level_estimate(i, levels[u]) for i, u in enumerate(inside)]
        if confirmed_level(ests, {i: levels[u] for i, u in enumerate(inside)}) is not None:
            return None
        best = estimate.best_level(ests)
        return None if best is None else best.users

    def _search_next(self, levels: dict[int, dict[str, Any]]) -> int | None:
        """Steps 1-4: the next level of the doubling or a bisection, or None when they are done."""
        nxt, reason = self._doubling(levels)
        if nxt is not None:
            return nxt
        if reason == REASON_NOT_SATURATED:  # a lower bound either way: no time spent below it
            return None
        broken = sorted(u for u, s in levels.items() if self._broken(s))
        limit = broken[0] if broken else None
        if limit is not None:
            good = max((u for u in levels if u < limit), default=0)
            if limit - good > 1:
                return (good + limit) // 2
        inside = sorted(u for u in levels if limit is None or u < limit)
        if not inside:
            return None
        ests = [estimate.level_estimate(i, levels[u]) for i, u in enumerate(inside)]
        best = estimate.best_level(ests)
        assert best is not None
        above = next((e for e in ests if e.users > best.users), None)
        if above is not None and above.users - best.users > 1 and estimate.told_apart(above, best):
            return (best.users + above.users) // 2  # the curve falls after the best: look between them
        knee = estimate.knee_level(ests)
        assert knee is not None
        below = max((u for u in inside if u < knee.users), default=0)
        if knee.users - below > 1:
            return (below + knee.users) // 2
        return None

    def reason(self, steps: Sequence[dict[str, Any]]) -> str:
        """Why the search stopped doubling (``""`` while it has not)."""
        return self._doubling(self._levels(steps))[1]

    def plateau(self, steps: Sequence[dict[str, Any]]) -> Plateau:
        """The knee of the levels measured (``step_index`` indexes ``steps``), with the search's reason."""
        found = find_plateau(steps, threshold_ms=self.threshold_ms, percentile=self.percentile, by_users=True)
        reason = self.reason(steps)
        if found.found and reason and reason != REASON_NO_DATA:
            return Plateau(found.step_index, found.max_invocations, found.level_rps, found.model_latency_ms,
                           reason, found.ci_per_min, found.stable, found.users, found.best_users, found.confirmed,
                           found.latency_users)
        return found


ControlWriter = Callable[[dict[str, Any]], None]


def _per_model(ticks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Multi-model load: the level's per-target figures, the counted ticks' tallies added up."""
    encoded = [t["models"] for t in ticks if t.get("models")]
    if not encoded:
        return []
    from irkit.load.model_tally import StepModels

    models = StepModels()
    for item in encoded:
        models.merge_encoded(item)
    return models.entries()


def control_file_writer(path: str | os.PathLike[str]) -> ControlWriter:
    """Write the locustfile's control JSON atomically (write a sibling, then rename)."""
    target = Path(path)

    def write(control: dict[str, Any]) -> None:
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(control), encoding="utf-8")
        os.replace(temporary, target)

    return write


class KneeDriver:
    """Runs a :class:`KneeSearch` on live ticks: one level at a time, a STEP per finished level."""

    def __init__(self, search: KneeSearch, write_control: ControlWriter) -> None:
        self.search, self.write_control = search, write_control
        self.rule = search.settings.rule()
        self.steps: list[dict[str, Any]] = []
        self.level, self.users = 0, 1
        self.ticks: list[dict[str, Any]] = []
        self.done = False
        self.warmup_from: float | None = None  # the first tick's start; None until one arrived
        self.warm = False

    def start(self) -> dict[str, Any]:
        """The first control record (also what to write before Locust starts)."""
        control = {"level": self.level, "users": self.users}
        self.write_control(control)
        return control

    def on_tick(self, tick: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one tick; return the level STEP it finished (at most one)."""
        if self.done or tick.get("level") != self.level:
            return []
        if not self.warm:  # the first WARMUP_S seconds of the run: served, not counted
            if self.warmup_from is None:
                self.warmup_from = float(tick["start_s"])
            self.warm = float(tick["start_s"]) + float(tick["duration_s"]) - self.warmup_from >= WARMUP_S - 1e-9
            return []
        self.ticks.append(tick)
        groups, _filling = windows.group_windows(self.ticks, self.rule)
        measured = windows.make_windows(groups)
        first = float(self.ticks[0]["start_s"])
        elapsed = float(tick["start_s"]) + float(tick["duration_s"]) - first
        state = windows.level_state(measured, elapsed, self.rule)
        if state == windows.STATE_MEASURING:
            return []
        step = self._level_step(measured, state == windows.STATE_STABLE)
        self.steps.append(step)
        nxt = self.search.next_users(self.steps)
        if nxt is None:
            self.stop()
        else:
            self.level, self.users, self.ticks = self.level + 1, nxt, []
            self.write_control({"level": self.level, "users": self.users})
        return [step]

    def stop(self) -> None:
        if not self.done:
            self.done = True
            self.write_control({"level": self.level, "users": self.users, "stop": True})

    def _level_step(self, measured: list[windows.Window], stable: bool) -> dict[str, Any]:
        counted, _ = windows.counted_windows(measured, self.rule)
        if not counted:  # not one full window within the cap: all its settled ticks as one
            settled = [t for t in self.ticks if t.get("settled", True)]
            counted = [windows.window_from_ticks(settled)] if settled else []
        step: dict[str, Any] = {"step": len(self.steps), "level": self.level, "users": self.users}
        if any(int(s["users"]) == self.users for s in self.steps):
            step["confirm"] = True  # a second measurement of the best level (step 5)
        step.update(windows.window_summary(counted))
        if not counted:
            step["start_s"] = float(self.ticks[0]["start_s"]) if self.ticks else 0.0
        step["windows"] = [w.to_dict() for w in counted]
        per_model = _per_model([t for w in counted for t in w.ticks])
        if per_model:
            step["per_model"] = per_model
        step["stable"] = bool(stable)
        step["discarded_windows"] = len(measured) - len(counted) if len(measured) >= len(counted) else 0
        if not stable:
            step["warnings"] = [f"{self.users} user(s): throughput and latency did not settle within "
                                f"{self.rule.max_level_seconds:g} s ({len(measured)} window(s)); this level is "
                                "marked unstable"]
        return step
