"""The Locust side both locustfiles share: imported ONLY by a locustfile, never by irkit.

It imports locust (gevent monkey-patching), so nothing in irkit's import graph may import it; only
``load/locustfile.py`` and ``backends/sagemaker/runtime_locustfile.py`` do, inside the Locust
subprocess that ``generator.run_load`` starts. Importing it registers the event listeners.

Configuration comes from the JSON file named by ``$IRKIT_LOAD_CONFIG`` (written by generator.py) in a
single process or the master. Workers need nothing local: at test start the master sends them the
config, the payload and the run's start time ``t0`` (message ``irkit_start``), so
``locust -f locustfile.py --worker --master-host HOST`` on another machine just works (its clock
must agree with the master's; NTP is enough for 10 s steps).

- **Timeline** (``TIMELINE``): the run is cut into step windows (irkit.spec.traffic). Every request
  is recorded, when it completes, in the HdrHistogram of the window it completed in (hdr.py), and,
  when the request event's context names ``irkit_model`` / ``irkit_container``, per target
  (model_tally.py). At each window's end the single process writes the STEP as a JSON line to
  ``results_path``; a worker sends its tallies to the master (``irkit_step``), which adds all the
  workers' histograms before writing. After the last step it writes ``{"event": "done"}`` and quits.
- **Shape** (``TrafficShape``): IR's PHASES/STAIRS over time; a locustfile imports it into its own
  namespace so Locust picks it up.
- **Arrivals** (``run_arrivals``): the open-loop schedule, Poisson arrivals at each window's rate
  (1/N per generator process), latency counted from the scheduled send time (``irkit_scheduled`` in
  the context), as MLPerf LoadGen's Server scenario does.
- **Targets** (``target_sampler``, ``seed_offset``): the seeded ``irkit.spec.popularity`` sampler of
  multi-model load; each worker offsets the seed by its client id.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import psutil
from locust import LoadTestShape, events
from locust.runners import MasterRunner, WorkerRunner

from irkit.load.hdr import StepTally
from irkit.load.model_tally import StepModels, answer_cache_state
from irkit.spec import traffic as shapes

CONFIG_ENV = "IRKIT_LOAD_CONFIG"
CONTEXT_MODEL = "irkit_model"  # request-event context keys that file a request under a target
CONTEXT_CONTAINER = "irkit_container"
CONTEXT_SCHEDULED = "irkit_scheduled"  # open loop: the send time latency is counted from
MERGE_WAIT_S = 5.0  # how long the master waits for workers' tallies after a window ends
END_GRACE_S = 15.0  # the shape gives up this long after the last window if the timeline did not end it
LATE_AFTER_S = 0.005  # an open-loop send that leaves this long after its scheduled time is late
OPEN_LOOP_MAX_IN_FLIGHT = 256  # more outstanding open-loop requests per process are dropped
CPU_WARNING_PERCENT = 90.0
PARENT_CHECK_S = 0.5  # how often a local Locust process checks that run_load's process is alive


def _read_config() -> dict[str, Any] | None:
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        config: dict[str, Any] = json.load(handle)
    with open(config["payload_path"], "rb") as handle:
        config["payload_b64"] = base64.b64encode(handle.read()).decode("ascii")
    return config


def seed_offset(environment: Any) -> int:
    """0 in a single process or the master; a worker's own offset (from its client id) otherwise."""
    if not isinstance(environment.runner, WorkerRunner):
        return 0
    return zlib.crc32(str(environment.runner.client_id or "").encode()) % 10_000


def target_sampler(target_models: Any, seed: int) -> Callable[[], tuple[str | None, str | None]]:
    """``() -> (model, container)`` drawn from the spec's target_models (file form); (None, None) without."""
    if not target_models:
        return lambda: (None, None)
    from irkit.spec.popularity import Popularity

    sampler: Callable[[], tuple[str | None, str | None]] = Popularity.from_spec(target_models).sampler(seed)
    return sampler


class Timeline:
    """This process's view of the run: config, start time, windows and the tallies being filled."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.payload = b""
        self.t0: float | None = None
        self.windows: list[shapes.StepWindow] = []
        self.tallies: dict[int, StepTally] = {}
        self.received: dict[int, list[dict[str, Any]]] = {}  # master: step -> workers' encoded tallies
        self.models: dict[int, StepModels] = {}  # step -> per-target tallies (multi-model load)
        self.pick: Any = None  # () -> (model, container), made on first use from config target_models
        self.started = False
        self.finished = False
        self.process = psutil.Process()
        self.cpu_mark = (time.time(), self._cpu_seconds())

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config
        self.payload = base64.b64decode(config["payload_b64"])
        self.windows = [shapes.StepWindow.from_dict(w) for w in config["windows"]]

    @property
    def threshold_ms(self) -> float | None:
        return None if self.config is None else self.config.get("threshold_ms")

    def tally(self, index: int) -> StepTally:
        if index not in self.tallies:
            self.tallies[index] = StepTally()
        return self.tallies[index]

    def record(self, latency_ms: float, failed: bool, at: float) -> None:
        if self.t0 is None:
            return
        index = shapes.window_index(self.windows, at - self.t0)
        if index is not None:
            self.tally(index).record(latency_ms, failed, self.threshold_ms)

    def record_target(self, model: str | None, container: str | None, latency_ms: float, failed: bool,
                      at: float, response: Any) -> None:
        if self.t0 is None:
            return
        index = shapes.window_index(self.windows, at - self.t0)
        if index is None:
            return
        cache, load_ms = answer_cache_state(response)
        self.models.setdefault(index, StepModels()).record(model, container, latency_ms, failed, cache, load_ms)

    def target_picker(self, environment: Any) -> Any:
        """This process's seeded target sampler, or None when the load has no target_models."""
        if self.pick is None and self.config and self.config.get("target_models"):
            self.pick = target_sampler(self.config["target_models"],
                                       int(self.config.get("seed") or 0) + seed_offset(environment))
        return self.pick

    def _cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def cpu_since_mark(self) -> float:
        """This process's CPU % (100 = one core) since the last call."""
        now, cpu = time.time(), self._cpu_seconds()
        then, cpu_then = self.cpu_mark
        self.cpu_mark = (now, cpu)
        return 100.0 * (cpu - cpu_then) / max(now - then, 1e-6)


TIMELINE = Timeline()
TIMELINE_CONFIG = _read_config()
if TIMELINE_CONFIG is not None:
    TIMELINE.configure(TIMELINE_CONFIG)


def _write_line(record: dict[str, Any]) -> None:
    assert TIMELINE.config is not None
    with open(TIMELINE.config["results_path"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def _step_record(window: shapes.StepWindow, tally: StepTally, models: StepModels | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"step": window.index, "users": window.users, "start_s": window.start_s}
    if window.phase is not None:
        step["phase"] = window.phase
    if window.target_rps is not None:
        step["target_rps"] = window.target_rps
    step.update(tally.step_dict(window.duration_s))
    if TIMELINE.config and TIMELINE.config.get("mode") == "open":
        step["late"], step["dropped"] = tally.late, tally.dropped
        step["sent"] = tally.sent
        if TIMELINE.config.get("time_scale"):  # trace replay: where the window starts in the trace
            step["trace_s"] = round(window.start_s * float(TIMELINE.config["time_scale"]), 3)
    if models is not None and models.targets:
        step["per_model"] = models.entries()
    cpu = step.get("generator_cpu")
    if cpu is not None and cpu > CPU_WARNING_PERCENT:
        step["warnings"] = [f"load generator CPU at {cpu:.0f}% (> {CPU_WARNING_PERCENT:.0f}%) in step "
                            f"{window.index}: its latencies and req/s are suspect; add --workers"]
    return step


def _sleep_until(deadline: float) -> None:
    gevent.sleep(max(0.0, deadline - time.time()))


def _finish_step(environment: Any, window: shapes.StepWindow) -> None:
    tally = TIMELINE.tallies.pop(window.index, None) or StepTally()
    tally.cpu_percent = TIMELINE.cpu_since_mark()
    models = TIMELINE.models.pop(window.index, None) or StepModels()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message("irkit_step", {"step": window.index, "tally": tally.encode(),
                                           "models": models.encode()})
        return
    if isinstance(runner, MasterRunner):
        deadline = time.time() + MERGE_WAIT_S
        while len(TIMELINE.received.get(window.index, [])) < runner.worker_count and time.time() < deadline:
            gevent.sleep(0.05)
        for data in TIMELINE.received.pop(window.index, []):
            tally.merge_encoded(data["tally"])
            models.merge_encoded(data.get("models") or [])
    _write_line(_step_record(window, tally, models))


def _run_timeline(environment: Any) -> None:
    """Close each window at its end; the single process or master then ends the run."""
    assert TIMELINE.t0 is not None
    for window in TIMELINE.windows:
        _sleep_until(TIMELINE.t0 + window.end_s)
        _finish_step(environment, window)
    if not isinstance(environment.runner, WorkerRunner):
        _write_line({"event": "done"})
        TIMELINE.finished = True
        environment.runner.quit()


def _start_timeline(environment: Any) -> None:
    if TIMELINE.started:
        return
    TIMELINE.started = True
    TIMELINE.cpu_since_mark()
    gevent.spawn(_run_timeline, environment)


def _exit_when_orphaned(parent_pid: int) -> None:
    """run_load's process died without reaping us (e.g. SIGKILL): end this process too."""
    while True:
        gevent.sleep(PARENT_CHECK_S)
        if os.getppid() != parent_pid:
            os._exit(3)


@events.init.add_listener
def _on_init(environment: Any, **_kw: Any) -> None:
    runner = environment.runner
    if TIMELINE_CONFIG is not None and TIMELINE_CONFIG.get("parent_pid"):
        gevent.spawn(_exit_when_orphaned, int(TIMELINE_CONFIG["parent_pid"]))
    if isinstance(runner, MasterRunner):
        runner.register_message("irkit_step", _on_worker_step)
    elif isinstance(runner, WorkerRunner):
        runner.register_message("irkit_start", lambda msg, **kw: _on_start_message(environment, msg))


def _on_worker_step(msg: Any, **_kw: Any) -> None:
    TIMELINE.received.setdefault(int(msg.data["step"]), []).append(msg.data)


def _on_start_message(environment: Any, msg: Any) -> None:
    TIMELINE.configure(msg.data["config"])
    TIMELINE.t0 = float(msg.data["t0"])
    _start_timeline(environment)


@events.test_start.add_listener
def _on_test_start(environment: Any, **_kw: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) or TIMELINE.config is None:
        return
    if TIMELINE.t0 is None:
        TIMELINE.t0 = time.time()
    if isinstance(runner, MasterRunner):
        shared = {k: v for k, v in TIMELINE.config.items() if k not in ("results_path", "parent_pid")}
        runner.send_message("irkit_start", {"config": shared, "t0": TIMELINE.t0})
    _start_timeline(environment)


@events.request.add_listener
def _on_request(response_time: float, exception: Any, context: dict[str, Any] | None = None,
                response: Any = None, **_kw: Any) -> None:
    now = time.time()
    context = context or {}
    scheduled = context.get(CONTEXT_SCHEDULED)
    latency_ms = (now - scheduled) * 1000.0 if scheduled is not None else float(response_time or 0.0)
    TIMELINE.record(latency_ms, exception is not None, now)
    if CONTEXT_MODEL in context or CONTEXT_CONTAINER in context:
        TIMELINE.record_target(context.get(CONTEXT_MODEL), context.get(CONTEXT_CONTAINER), latency_ms,
                               exception is not None, now, response)




class TrafficShape(LoadTestShape):
    """IR's PHASES/STAIRS (or the open-loop generators) over time; the arithmetic is shapes.tick()."""

    def tick(self) -> tuple[int, float] | None:
        config = TIMELINE.config
        if config is None or TIMELINE.finished:
            return None
        if TIMELINE.t0 is None:
            TIMELINE.t0 = time.time()
        elapsed = time.time() - TIMELINE.t0
        last_end = TIMELINE.windows[-1].end_s if TIMELINE.windows else 0.0
        if elapsed > last_end + END_GRACE_S:
            return None
        if config["mode"] == "open":
            return max(1, int(config.get("generators") or 1)), shapes.SPAWN_AT_ONCE_PER_S
        current = shapes.tick(config["traffic"], min(elapsed, max(0.0, last_end - 1e-3)))
        return current


def wait_for_config() -> bool:
    """False (after a short sleep) until this process has its config: a user's task returns then."""
    if TIMELINE.config is None:
        gevent.sleep(0.05)
        return False
    return True


def _poisson_times(generators: int) -> Iterator[tuple[float, int]]:
    """(send time, window index): Poisson arrivals at 1/N of each window's rate."""
    assert TIMELINE.t0 is not None
    rng = random.Random()
    at = TIMELINE.t0
    for window in TIMELINE.windows:
        end = TIMELINE.t0 + window.end_s
        at = max(at, TIMELINE.t0 + window.start_s)
        rate = float(window.target_rps or 0.0) / generators
        while rate > 0:
            at += rng.expovariate(rate)
            if at >= end:
                break
            yield at, window.index
        at = end


def _even_times(generators: int, environment: Any) -> Iterator[tuple[float, int]]:
    """(send time, window index) of a trace replay (config ``arrivals: even``): each window's requests
    evenly spaced, as many as the trace says (irkit.spec.trace.even_send_times); 1/N per process."""
    from irkit.spec.trace import even_send_times

    assert TIMELINE.t0 is not None
    rates = [float(w.target_rps or 0.0) for w in TIMELINE.windows]
    window_s = TIMELINE.windows[0].duration_s if TIMELINE.windows else 1.0
    index = int(getattr(getattr(environment, "runner", None), "worker_index", 0) or 0) % generators
    for offset, window in even_send_times(rates, window_s, generators, index):
        yield TIMELINE.t0 + offset, window


def run_arrivals(send: Callable[[float], None], environment: Any = None) -> None:
    """An open-loop user's one task: send at Poisson arrival times, 1/N of each window's rate per process
    (with config ``arrivals: even``, a trace replay's evenly spaced sends instead).

    ``send(scheduled)`` makes one request; it runs in its own greenlet, counted ``sent`` in its
    window, ``late`` when it leaves more than ``LATE_AFTER_S`` after ``scheduled`` and ``dropped``
    (not sent) while ``OPEN_LOOP_MAX_IN_FLIGHT`` requests are outstanding. Never returns: the
    timeline quits Locust.
    """
    while TIMELINE.config is None or TIMELINE.t0 is None:
        gevent.sleep(0.01)
    generators = max(1, int(TIMELINE.config.get("generators") or 1))
    in_flight = [0]

    def scheduled_send(scheduled: float, index: int) -> None:
        TIMELINE.tally(index).sent += 1
        if time.time() - scheduled > LATE_AFTER_S:
            TIMELINE.tally(index).late += 1
        in_flight[0] += 1
        try:
            send(scheduled)
        finally:
            in_flight[0] -= 1

    even = TIMELINE.config.get("arrivals") == "even"
    for at, index in (_even_times(generators, environment) if even else _poisson_times(generators)):
        _sleep_until(at)
        if in_flight[0] >= OPEN_LOOP_MAX_IN_FLIGHT:
            TIMELINE.tally(index).dropped += 1
            continue
        gevent.spawn(scheduled_send, at, index)
    while True:  # the schedule is over: idle until the timeline quits Locust
        gevent.sleep(1.0)
