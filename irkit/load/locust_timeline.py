"""The Locust side both locustfiles share: imported ONLY by a locustfile, never by irkit.

It imports locust (gevent monkey-patching), so nothing in irkit's import graph may import it; only
``load/locustfile.py`` and ``backends/sagemaker/runtime_locustfile.py`` do, inside the Locust
subprocess that ``generator.run_load`` starts. Importing it registers the event listeners.

Configuration comes from the JSON file named by ``$IRKIT_LOAD_CONFIG`` (written by generator.py) in a
single process or the master. Workers need nothing local: at test start the master sends them the
config, the payload and the run's start time ``t0`` (message ``irkit_start``), so
``locust -f locustfile.py --worker --master-host HOST`` on another machine just works (its clock
must agree with the master's; NTP is enough for 10 s steps).

- **Timeline** (``TIMELINE``, state in timeline.py): the run is cut into step windows
  (irkit.spec.traffic) and into ticks of ``tick_s``. Every request is recorded, when it completes,
  in the HdrHistograms of the window and of the tick it completed in (hdr.py), and, when the
  request event's context names ``irkit_model`` / ``irkit_container``, per target (model_tally.py).
  At each tick's end a worker sends its tick tally (``irkit_tick``) and the master adds them up. At
  each window's end the single process writes the STEP as a JSON line to ``results_path``, with
  the ``windows`` and ``stable`` cut from its ticks (windows.py); a worker sends its tallies to the
  master (``irkit_step``), which adds all the workers' histograms before writing. After the last
  step it writes ``{"event": "done"}`` and quits.
- **Knee search** (config key ``knee``): no fixed steps. The shape holds the users of the parent's
  control file (``{"level", "users", "stop"?}``, read every 0.1 s) and every tick is written as
  ``{"event": "tick", ...}`` for the parent's ``knee_search.KneeDriver``; ``stop`` ends the run.
- **Shape** (``TrafficShape``): IR's PHASES/STAIRS over time; a locustfile imports it into its own
  namespace so Locust picks it up.
- **Arrivals** (``run_arrivals``): the open-loop schedule, Poisson arrivals at each window's rate
  (1/N per generator process), latency counted from the scheduled send time (``irkit_scheduled`` in
  the context), as MLPerf LoadGen's Server scenario does.
- **Targets** (``target_sampler``, ``seed_offset``): the seeded ``irkit.spec.popularity`` sampler of
  multi-model load; each worker offsets the seed by its client id.
"""

from __future__ import annotations

import json
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import gevent
from locust import LoadTestShape, events
from locust.runners import MasterRunner, WorkerRunner

from irkit.load.hdr import StepTally
from irkit.load.model_tally import StepModels
from irkit.load.timeline import CONFIG_ENV, Snapshot, Timeline, read_config
from irkit.spec import traffic as shapes

__all__ = ["CONFIG_ENV", "TIMELINE", "TrafficShape", "run_arrivals", "seed_offset", "target_sampler",
           "wait_for_config"]

CONTEXT_MODEL = "irkit_model"  # request-event context keys that file a request under a target
CONTEXT_CONTAINER = "irkit_container"
CONTEXT_SCHEDULED = "irkit_scheduled"  # open loop: the send time latency is counted from
MERGE_WAIT_S = 5.0  # how long the master waits for workers' tallies after a window ends
TICK_MERGE_WAIT_S = 2.0  # ... and after a tick ends
END_GRACE_S = 15.0  # the shape gives up this long after the last window if the timeline did not end it
LATE_AFTER_S = 0.005  # an open-loop send that leaves this long after its scheduled time is late
OPEN_LOOP_MAX_IN_FLIGHT = 256  # more outstanding open-loop requests per process are dropped
CPU_WARNING_PERCENT = 90.0
PARENT_CHECK_S = 0.5  # how often a local Locust process checks that run_load's process is alive
CONTROL_POLL_S = 0.1  # how often the knee search's control file is read


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


class LocustTimeline(Timeline):
    """timeline.Timeline plus what needs Locust's runner: the target sampler's seed offset."""

    def target_picker(self, environment: Any) -> Any:
        """This process's seeded target sampler, or None when the load has no target_models."""
        if self.pick is None and self.config and self.config.get("target_models"):
            self.pick = target_sampler(self.config["target_models"],
                                       int(self.config.get("seed") or 0) + seed_offset(environment))
        return self.pick


TIMELINE = LocustTimeline()
TIMELINE_CONFIG = read_config(os.environ.get(CONFIG_ENV))
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
    if TIMELINE.mode == "open":
        step["achieved_rps"] = round(tally.sent / max(window.duration_s, 1e-9), 3)
        step["late"], step["dropped"] = tally.late, tally.dropped
        step["sent"] = tally.sent
        time_scale = (TIMELINE.config or {}).get("time_scale")
        if time_scale:  # trace replay: where the window starts in the trace
            step["trace_s"] = round(window.start_s * float(time_scale), 3)
            step["threshold_ms"] = TIMELINE.threshold_ms  # what goodput_rps counted against
    if models is not None and models.targets:
        step["per_model"] = models.entries()
    step["windows"], step["stable"] = TIMELINE.step_windows(window)
    cpu = step.get("generator_cpu")
    if cpu is not None and cpu > CPU_WARNING_PERCENT:
        step["warnings"] = [f"load generator CPU at {cpu:.0f}% (> {CPU_WARNING_PERCENT:.0f}%) in step "
                            f"{window.index}: its latencies and req/s are suspect; add --workers"]
    return step


def _sleep_until(deadline: float) -> None:
    gevent.sleep(max(0.0, deadline - time.time()))


def _gather(runner: Any, received: dict[int, list[dict[str, Any]]], index: int, wait_s: float) -> list[dict[str, Any]]:
    """The master: the workers' tallies for ``index`` (waiting up to ``wait_s`` for all of them)."""
    if not isinstance(runner, MasterRunner):
        return []
    deadline = time.time() + wait_s
    while len(received.get(index, [])) < runner.worker_count and time.time() < deadline:
        gevent.sleep(0.02)
    return received.pop(index, [])


def _finish_step(environment: Any, window: shapes.StepWindow) -> None:
    tally = TIMELINE.tallies.pop(window.index, None) or StepTally()
    tally.cpu_percent = TIMELINE.cpu.since("step")
    models = TIMELINE.models.pop(window.index, None) or StepModels()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message("irkit_step", {"step": window.index, "tally": tally.encode(),
                                           "models": models.encode()})
        return
    for data in _gather(runner, TIMELINE.received, window.index, MERGE_WAIT_S):
        tally.merge_encoded(data["tally"])
        models.merge_encoded(data.get("models") or [])
    deadline = time.time() + TICK_MERGE_WAIT_S + 1.0  # the windows need this step's ticks merged
    while TIMELINE.ticks_closed_s < window.end_s - 1e-6 and time.time() < deadline:
        gevent.sleep(0.02)
    _write_line(_step_record(window, tally, models))


def _end_run(environment: Any) -> None:
    if not TIMELINE.finished:
        _write_line({"event": "done"})
        TIMELINE.finished = True
        environment.runner.quit()


def _run_timeline(environment: Any) -> None:
    """Close each window at its end; the single process or master then ends the run."""
    assert TIMELINE.t0 is not None
    for window in TIMELINE.windows:
        _sleep_until(TIMELINE.t0 + window.end_s)
        _finish_step(environment, window)
    if not isinstance(environment.runner, WorkerRunner):
        _end_run(environment)


def _snapshot(environment: Any) -> Snapshot:
    assert TIMELINE.t0 is not None
    level, target = TIMELINE.target(time.time() - TIMELINE.t0)
    return Snapshot(level, target, int(getattr(environment.runner, "user_count", 0) or 0))


def _run_ticks(environment: Any) -> None:
    """Close each tick at its end: a worker sends its tally, the master merges, and a knee search's
    ticks are written for the parent (fixed traffic keeps them for its steps' windows)."""
    assert TIMELINE.t0 is not None
    index = 0
    begin = _snapshot(environment)
    while not TIMELINE.finished:
        end_at = TIMELINE.t0 + (index + 1) * TIMELINE.tick_s
        _sleep_until(end_at)
        end = _snapshot(environment)
        tally = TIMELINE.ticks.pop(index, None) or StepTally()
        tally.cpu_percent = TIMELINE.cpu.since("tick")
        models = TIMELINE.tick_models.pop(index, None) or StepModels()
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.send_message("irkit_tick", {"tick": index, "tally": tally.encode(), "models": models.encode()})
        else:
            for data in _gather(runner, TIMELINE.received_ticks, index, TICK_MERGE_WAIT_S):
                tally.merge_encoded(data["tally"])
                models.merge_encoded(data.get("models") or [])
            record = TIMELINE.tick_record(index, tally, begin, end, models)
            if TIMELINE.knee:
                _write_line(record)
            else:
                TIMELINE.closed_ticks[index] = record
            TIMELINE.ticks_closed_s = (index + 1) * TIMELINE.tick_s
        begin, index = end, index + 1


def _watch_control(environment: Any) -> None:
    """Knee search: follow the parent's control file; ``stop`` ends the run."""
    path = (TIMELINE.config or {}).get("knee", {}).get("control_path")
    seen = None
    while not TIMELINE.finished and path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = None
        if text and text != seen:
            seen = text
            TIMELINE.control = json.loads(text)
            if TIMELINE.control.get("stop"):
                _end_run(environment)
                return
        gevent.sleep(CONTROL_POLL_S)


def _start_timeline(environment: Any) -> None:
    if TIMELINE.started:
        return
    TIMELINE.started = True
    TIMELINE.cpu.since("step")
    TIMELINE.cpu.since("tick")
    gevent.spawn(_run_ticks, environment)
    if TIMELINE.knee:
        if not isinstance(environment.runner, WorkerRunner):
            gevent.spawn(_watch_control, environment)
    else:
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
        runner.register_message("irkit_tick", _on_worker_tick)
    elif isinstance(runner, WorkerRunner):
        runner.register_message("irkit_start", lambda msg, **kw: _on_start_message(environment, msg))


def _on_worker_step(msg: Any, **_kw: Any) -> None:
    TIMELINE.received.setdefault(int(msg.data["step"]), []).append(msg.data)


def _on_worker_tick(msg: Any, **_kw: Any) -> None:
    TIMELINE.received_ticks.setdefault(int(msg.data["tick"]), []).append(msg.data)


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
    """IR's PHASES/STAIRS (or the open-loop generators) over time; the arithmetic is shapes.tick().

    In a knee search it holds the users of the parent's control file until it says stop.
    """

    def tick(self) -> tuple[int, float] | None:
        config = TIMELINE.config
        if config is None or TIMELINE.finished:
            return None
        if TIMELINE.t0 is None:
            TIMELINE.t0 = time.time()
        if TIMELINE.knee:
            users = int(TIMELINE.control.get("users") or config["knee"].get("users") or 1)
            return users, max(shapes.SPAWN_AT_ONCE_PER_S, float(users))
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
