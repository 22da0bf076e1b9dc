"""A Locust process's view of the run: config, clock, the step and tick tallies, the knee search's target.

Used by the locustfiles (run by ``locust -f`` in a subprocess), which add the Locust glue. It
imports neither locust nor gevent, so its arithmetic is tested directly.

Every request is filed twice when it completes: in the tally of the STEP window it completed in
(``spec.traffic`` windows: one per stair step, phase window or open-loop rate) and in the tally of
its *tick*, a fixed ``TICK_S`` slice of the run. Ticks are what windows are cut from (windows.py):
a STEP of fixed traffic gets its ``windows`` and ``stable`` from its ticks, and a knee search
streams its ticks to the parent, which decides when a level is done.

A tick is **settled** when the generator held the same target for all of it (the same level or
step at both ends, and as many users running as the target when it began): the seconds in which
Locust is still adding users never count.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import psutil

from irkit.load import windows as win
from irkit.load.hdr import StepTally
from irkit.load.model_tally import StepModels, answer_cache_state
from irkit.spec import traffic as shapes

CONFIG_ENV = "IRKIT_LOAD_CONFIG"


def read_config(path: str | None) -> dict[str, Any] | None:
    """The config ``run_load`` wrote (``$IRKIT_LOAD_CONFIG``), with the payload inlined as base64."""
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        config: dict[str, Any] = json.load(handle)
    with open(config["payload_path"], "rb") as handle:
        config["payload_b64"] = base64.b64encode(handle.read()).decode("ascii")
    return config


@dataclass(frozen=True)
class Snapshot:
    """What the generator was doing at one instant: the step/level, its target users, users running."""

    level: int | None
    target: int | None
    running: int


def settled(begin: Snapshot, end: Snapshot) -> bool:
    """A tick between these two instants measured one level, fully ramped."""
    return (begin.level is not None and begin.level == end.level and begin.target == end.target
            and begin.target is not None and begin.running == begin.target)


class CpuMeter:
    """This process's CPU % (100 = one core) between calls, per named mark."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.marks: dict[str, tuple[float, float]] = {}

    def _cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def since(self, mark: str) -> float | None:
        now, cpu = time.time(), self._cpu_seconds()
        then = self.marks.get(mark)
        self.marks[mark] = (now, cpu)
        if then is None:
            return None
        return 100.0 * (cpu - then[1]) / max(now - then[0], 1e-6)


class Timeline:
    """This process's view of the run: config, start time, windows, tallies, and the knee control."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.payload = b""
        self.t0: float | None = None
        self.windows: list[shapes.StepWindow] = []
        self.tallies: dict[int, StepTally] = {}
        self.ticks: dict[int, StepTally] = {}
        self.received: dict[int, list[dict[str, Any]]] = {}  # master: step -> workers' encoded tallies
        self.received_ticks: dict[int, list[dict[str, Any]]] = {}  # master: tick -> workers' tallies
        self.closed_ticks: dict[int, dict[str, Any]] = {}  # fixed traffic: merged ticks the steps read
        self.ticks_closed_s = 0.0  # every tick ending by this time is merged
        self.models: dict[int, StepModels] = {}  # step -> per-target tallies (multi-model load)
        self.tick_models: dict[int, StepModels] = {}  # knee search: tick -> per-target tallies
        self.pick: Any = None  # () -> (model, container), made on first use from config target_models
        self.control: dict[str, Any] = {}  # knee search: {"level", "users", "stop"?} from the control file
        self.started = False
        self.finished = False
        self.cpu = CpuMeter()

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config
        self.payload = base64.b64decode(config["payload_b64"])
        self.windows = [shapes.StepWindow.from_dict(w) for w in config["windows"]]

    @property
    def threshold_ms(self) -> float | None:
        return None if self.config is None else self.config.get("threshold_ms")

    @property
    def tick_s(self) -> float:
        return float((self.config or {}).get("tick_s") or win.TICK_S)

    @property
    def knee(self) -> bool:
        return bool((self.config or {}).get("knee"))

    @property
    def mode(self) -> str:
        return str((self.config or {}).get("mode") or "closed")

    def tally(self, index: int) -> StepTally:
        if index not in self.tallies:
            self.tallies[index] = StepTally()
        return self.tallies[index]

    def tick_tally(self, index: int) -> StepTally:
        if index not in self.ticks:
            self.ticks[index] = StepTally()
        return self.ticks[index]

    def record(self, latency_ms: float, failed: bool, at: float) -> None:
        if self.t0 is None:
            return
        elapsed = at - self.t0
        index = shapes.window_index(self.windows, elapsed) if self.windows else None
        if index is not None:
            self.tally(index).record(latency_ms, failed, self.threshold_ms, elapsed)
        if elapsed >= 0:
            self.tick_tally(int(elapsed // self.tick_s)).record(latency_ms, failed, self.threshold_ms, elapsed)

    def record_target(self, model: str | None, container: str | None, latency_ms: float, failed: bool,
                      at: float, response: Any) -> None:
        if self.t0 is None:
            return
        cache, load_ms = answer_cache_state(response)
        if self.knee:  # a level is a run of ticks: file per tick, the parent adds a level's up
            tick = int(max(0.0, at - self.t0) // self.tick_s)
            self.tick_models.setdefault(tick, StepModels()).record(model, container, latency_ms, failed, cache,
                                                                  load_ms)
            return
        index = shapes.window_index(self.windows, at - self.t0) if self.windows else None
        if index is not None:
            self.models.setdefault(index, StepModels()).record(model, container, latency_ms, failed, cache,
                                                               load_ms)

    def target(self, elapsed_s: float) -> tuple[int | None, int | None]:
        """(step or level, target users) at ``elapsed_s``: the knee's control, the open loop's
        generators, or the traffic's step."""
        if self.knee:
            if "level" not in self.control:
                return None, None
            return int(self.control["level"]), int(self.control["users"])
        index = shapes.window_index(self.windows, elapsed_s) if self.windows else None
        if index is None or elapsed_s < 0:
            return None, None
        if self.mode == "open":
            return index, max(1, int((self.config or {}).get("generators") or 1))
        traffic = (self.config or {}).get("traffic")
        users = shapes.users_at(traffic, elapsed_s) if traffic else self.windows[index].users
        return index, users

    def tick_record(self, index: int, tally: StepTally, begin: Snapshot, end: Snapshot,
                    models: StepModels | None = None) -> dict[str, Any]:
        """One merged tick as the knee search (and the steps' windows) read it."""
        start = index * self.tick_s
        record: dict[str, Any] = {
            "event": "tick", "tick": index, "start_s": round(start, 3), "duration_s": self.tick_s,
            "level": begin.level if settled(begin, end) else None, "users": begin.target,
            "settled": settled(begin, end), "requests": tally.requests, "errors": tally.errors,
            "within_threshold": tally.within_threshold, "last_done_s": tally.last_done_s,
            "generator_cpu": None if tally.cpu_percent is None else round(tally.cpu_percent, 1),
        }
        if tally.histogram.get_total_count():
            record["histogram"] = tally.histogram.encode().decode("ascii")
        if models is not None and models.targets:
            record["models"] = models.encode()
        return record

    def step_windows(self, window: shapes.StepWindow) -> tuple[list[dict[str, Any]], bool | None]:
        """A fixed-traffic STEP's windows (from its merged ticks) and whether it settled."""
        rule_data = (self.config or {}).get("window_rule") or {}
        rule = win.WindowRule(**rule_data)
        first = int(round(window.start_s / self.tick_s))
        last = int(round(window.end_s / self.tick_s))
        ticks = []
        for k in range(first, last):
            tick = self.closed_ticks.pop(k, None)
            if tick is not None and tick["start_s"] + tick["duration_s"] <= window.end_s + 1e-6:
                ticks.append({**tick, "level": window.index})
        groups, _ = win.group_windows(ticks, rule)
        measured = win.make_windows(groups)
        if len(measured) < rule.count:  # too short a step to tell
            return [w.to_dict() for w in measured], None
        counted, stable = win.counted_windows(measured, rule)
        return [w.to_dict() for w in counted], stable
