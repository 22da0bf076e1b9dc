"""Drive load at a server with Locust in a subprocess, streaming each finished step to the caller.

``run_load`` writes a config file, starts ``python -m locust -f locustfile.py --headless`` (one
process, or a master plus ``workers`` worker processes, all on 127.0.0.1), tails the JSON-lines
results file the locustfile writes, and calls ``on_step(step)`` in this process as each step ends.
Each Locust process runs in its own session; on return, on any exception, on Ctrl-C, on
``stop_event`` and on ``max_seconds`` every process tree is terminated and then killed.

Early stop (IR's ``flat_invocations: Stop``): set ``stop_event`` (the runner does), or return
``False`` from ``on_step``. Either ends Locust at once; the steps already finished are kept.

Knee search (``knee=KneeSearch(...)``, knee_search.py): no fixed traffic. A ``KneeDriver`` writes
the target users to a control file the locustfile's shape follows, reads the ticks the locustfile
streams, and hands each finished level to ``on_step`` as a STEP; it ends the run when the knee is
found. ``cpus``: pin every Locust process to these cores (the ones the server does not use).

Locust is never imported here (it monkey-patches the process with gevent).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.errors import BackendError, ProcessDiedError, exit_description
from irkit.load import windows as win
from irkit.spec import traffic as shapes

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CONFIG_ENV = "IRKIT_LOAD_CONFIG"  # the locustfile's config file (same name there)
POLL_S = 0.1  # how often the results file is read
STARTUP_MARGIN_S = 30.0  # Locust start-up allowance on top of the traffic's length
STOP_GRACE_S = 5.0  # SIGTERM -> SIGKILL
CPU_WARNING_PERCENT = 90.0
OPEN_LOOP_SHORTFALL = 0.05  # open loop: achieved under target, or late sends, beyond this share warn
MODE_CLOSED = "closed"
MODE_OPEN = "open"

StepCallback = Callable[[dict[str, Any]], Any]


@dataclass
class LoadResult:
    """What a load test produced: STEP dicts (docs/architecture.md), warnings, and ``closed``/``open``."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mode: str = MODE_CLOSED
    stopped_early: bool = False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traffic_dict(traffic: Any) -> dict[str, Any]:
    """A TrafficPattern (or dict) as plain JSON for the locustfile."""
    if shapes.traffic_kind(traffic) == shapes.TRAFFIC_STAIRS:
        stairs = traffic["stairs"] if isinstance(traffic, dict) else traffic.stairs
        keys = ("duration_in_seconds", "number_of_steps", "users_per_step")
        return {"stairs": {k: (stairs[k] if isinstance(stairs, dict) else getattr(stairs, k)) for k in keys}}
    phases = traffic["phases"] if isinstance(traffic, dict) else traffic.phases
    keys = ("duration_in_seconds", "initial_number_of_users", "spawn_rate")
    return {"phases": [{k: (p[k] if isinstance(p, dict) else getattr(p, k)) for k in keys} for p in phases]}


def plan_windows(traffic: Any, open_loop: Any = None, workers: int = 0,
                 window_s: float = shapes.DEFAULT_WINDOW_S, knee: Any = None) -> list[shapes.StepWindow]:
    """The steps a run will report, without running it (none planned for a knee search)."""
    if knee is not None:
        return []
    if open_loop is not None:
        return shapes.open_loop_windows(open_loop, generators=max(1, workers))
    if traffic is None:
        raise BackendError("run_load needs traffic (phases or stairs) or open_loop")
    windows = shapes.step_windows(traffic, window_s)
    if not windows:
        raise BackendError("the traffic pattern has no steps (phases or stairs are empty)")
    return windows


def write_config(dest: str | os.PathLike[str], payload_path: str | os.PathLike[str], content_type: str,
                 windows: list[shapes.StepWindow], *, traffic: Any = None, mode: str = MODE_CLOSED,
                 threshold_ms: float | None = None, path: str = "/invocations",
                 headers: Mapping[str, str] | None = None, results_path: str | os.PathLike[str] = "steps.jsonl",
                 generators: int = 1, parent_pid: int = 0, extra: Mapping[str, Any] | None = None,
                 window_rule: win.WindowRule | None = None, knee: Mapping[str, Any] | None = None) -> Path:
    """Write the locustfile's config (``$IRKIT_LOAD_CONFIG``): also for a master started by hand.

    ``parent_pid``: the Locust processes exit when their parent is no longer this pid (0: never).
    ``extra``: more JSON-safe keys for another locustfile (e.g. the SageMaker runtime user's).
    ``window_rule``: how a step's windows are cut (windows.py); ``knee``: ``{"control_path", "users"}``
    for a knee search.
    """
    rule = window_rule or win.WindowRule()
    config = {
        "mode": mode, "windows": [w.to_dict() for w in windows],
        "traffic": _traffic_dict(traffic) if traffic is not None else None,
        "payload_path": str(Path(payload_path).resolve()), "content_type": content_type, "path": path,
        "headers": dict(headers or {}), "threshold_ms": threshold_ms,
        "results_path": str(Path(results_path).resolve()), "generators": max(1, int(generators)),
        "parent_pid": int(parent_pid), "tick_s": win.TICK_S,
        "window_rule": {"window_seconds": rule.window_seconds, "min_requests": rule.min_requests,
                        "tolerance": rule.tolerance, "count": rule.count,
                        "max_level_seconds": rule.max_level_seconds, "min_windows": rule.min_windows},
    }
    if knee is not None:
        config["knee"] = dict(knee)
    config.update(extra or {})
    out = Path(dest)
    out.write_text(json.dumps(config), encoding="utf-8")
    return out


def _locust_command(user_class: str, url: str, locustfile: Path = LOCUSTFILE) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
            "--loglevel", "WARNING", "--exit-code-on-error", "0", "-H", url, user_class]


def _start(command: list[str], env: Mapping[str, str], cwd: str, log: Any,
           cpus: Sequence[int] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    if cpus:
        try:  # before Locust has imported anything: every thread it starts inherits the mask
            os.sched_setaffinity(process.pid, set(cpus))
        except OSError:
            pass
    return process


def reap(processes: list[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> None:
    """Terminate each process's session group (SIGTERM, then SIGKILL after ``grace_s``), and wait."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        _signal_group(process.pid, signal.SIGKILL)  # also anything left in its group
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _ResultsTail:
    """Reads complete JSON lines appended to the results file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.done = path, 0, False

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in data[: end + 1].splitlines():
            if line.strip():
                record = json.loads(line)
                if record.get("event") == "done":
                    self.done = True
                else:
                    records.append(record)
        return records


def _log_tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def run_load(
    url: str,
    payload_path: str | os.PathLike[str],
    content_type: str,
    traffic: Any,
    *,
    latency_threshold_ms: float | None = None,
    percentile: str = "P95",
    open_loop: Any = None,
    workers: int = 0,
    on_step: StepCallback | None = None,
    stop_event: threading.Event | None = None,
    max_seconds: float | None = None,
    path: str = "/invocations",
    headers: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    window_s: float = shapes.DEFAULT_WINDOW_S,
    locustfile: str | os.PathLike[str] | None = None,
    extra_config: Mapping[str, Any] | None = None,
    knee: Any = None,
    cpus: Sequence[int] | None = None,
) -> LoadResult:
    """Run ``traffic`` (an ``irkit.spec.TrafficPattern``) or ``open_loop`` at ``url`` with Locust.

    ``percentile`` is accepted for the runner's signature; every step carries p50/p90/p95/p99 and
    ``goodput_rps`` counts successes within ``latency_threshold_ms``. Raises BackendError when Locust
    fails before producing a step; ``max_seconds`` bounds the whole run (default: traffic + 30 s).
    ``locustfile``/``extra_config``: another locustfile with the same ``ClosedLoopUser``/``OpenLoopUser``
    names and the keys it reads (the SageMaker runtime user, ``backends/sagemaker/runtime_locustfile.py``).
    ``knee``: a ``knee_search.KneeSearch`` to run instead of ``traffic``; ``cpus``: cores for Locust.
    """
    del percentile  # all percentiles are reported; the caller picks
    payload = Path(payload_path)
    if not payload.is_file():
        raise BackendError(f"payload file {str(payload)!r} does not exist (payload_path)")
    workers = max(0, int(workers))
    mode = MODE_OPEN if open_loop is not None and knee is None else MODE_CLOSED
    windows = plan_windows(traffic, open_loop, workers, window_s, knee)
    length = windows[-1].end_s if windows else knee.settings.bound_s()
    bound = max_seconds if max_seconds is not None else length + STARTUP_MARGIN_S
    result = LoadResult(mode=mode)
    workdir = tempfile.mkdtemp(prefix="irkit-load-")
    results_path = Path(workdir) / "steps.jsonl"
    driver = None
    if knee is not None:
        from irkit.load.knee_search import KneeDriver, control_file_writer

        control_path = Path(workdir) / "control.json"
        driver = KneeDriver(knee, control_file_writer(control_path))
        first = driver.start()
    config_path = write_config(Path(workdir) / "config.json", payload, content_type, windows,
                               traffic=traffic if open_loop is None and knee is None else None, mode=mode,
                               threshold_ms=latency_threshold_ms, path=path, headers=headers,
                               results_path=results_path, generators=max(1, workers),
                               parent_pid=os.getpid(), extra=extra_config,
                               window_rule=knee.settings.rule() if knee is not None else None,
                               knee={"control_path": str(control_path), "users": first["users"]} if driver else None)
    env = {**os.environ, CONFIG_ENV: str(config_path), "PYTHONUNBUFFERED": "1"}
    log_file = Path(log_path) if log_path else Path(workdir) / "locust.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    user_class = "OpenLoopUser" if mode == MODE_OPEN else "ClosedLoopUser"
    processes: list[subprocess.Popen[bytes]] = []
    with open(log_file, "ab") as log:
        try:
            script = Path(locustfile) if locustfile else LOCUSTFILE
            master = _locust_command(user_class, url, script)
            if workers:
                port = _free_port()
                master += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                           "--expect-workers", str(workers)]
            processes.append(_start(master, env, workdir, log, cpus))
            for _ in range(workers):
                worker = _locust_command(user_class, url, script) + ["--worker", "--master-host", "127.0.0.1",
                                                             "--master-port", str(port)]
                processes.append(_start(worker, env, workdir, log, cpus))
            _follow(processes, _ResultsTail(results_path), result, on_step, stop_event,
                    time.monotonic() + bound, driver, log_file)
        finally:
            if driver is not None:
                driver.stop()
            reap(processes)
    _finish(result, log_file, processes[0].returncode if processes else None)
    shutil.rmtree(workdir, ignore_errors=True)  # kept on failure: it holds the log unless log_path
    return result


def _follow(processes: list[subprocess.Popen[bytes]], tail: _ResultsTail, result: LoadResult,
            on_step: StepCallback | None, stop_event: threading.Event | None, deadline: float,
            driver: Any = None, log_file: Path | None = None) -> None:
    """Stream steps until the run says done, Locust exits, a stop is asked for, or time runs out.

    Raises ProcessDiedError when the master is killed (by a signal) or a worker ends before the
    end: the steps after that would be wrong, so the caller must not use them.
    """
    master = processes[0]
    while True:
        exited = [p for p in processes if p.poll() is not None]  # before the tail: "done" precedes a normal exit
        for record in tail.read():
            if record.get("event") == "tick":
                steps = driver.on_tick(record) if driver is not None else []
            else:
                steps = [record]
            for step in steps:
                result.steps.append(step)
                if on_step is not None and on_step(step) is False:
                    result.stopped_early = True
        if tail.done or result.stopped_early:
            return
        if stop_event is not None and stop_event.is_set():
            result.stopped_early = True
            return
        if master in exited and (master.returncode or 0) >= 0:
            return  # Locust ended on its own (_finish says so when it left no step)
        if exited:  # the master killed by a signal, or a worker gone before the end
            process = master if master in exited else exited[0]
            role = "worker" if process is not master else ("master" if len(processes) > 1 else "process")
            raise ProcessDiedError(f"the Locust {role} (pid {process.pid}) {exit_description(process.returncode)} "
                                   f"during the load test; its log: {log_file}")
        if time.monotonic() > deadline:
            result.warnings.append("the load test hit its time bound (max_seconds) and was stopped")
            result.stopped_early = True
            return
        time.sleep(POLL_S)


def _finish(result: LoadResult, log_file: Path, returncode: int | None) -> None:
    if not result.steps and not result.stopped_early:
        raise BackendError(f"Locust produced no step (exit code {returncode}); its log {str(log_file)!r} "
                           f"ends with:\n{_log_tail(log_file)}")
    behind = [s for s in result.steps if s.get("target_rps") and s.get("achieved_rps") is not None
              and s["achieved_rps"] < (1 - OPEN_LOOP_SHORTFALL) * s["target_rps"]]
    late = [s for s in result.steps if s.get("target_rps") and s.get("requests")
            and (s.get("late") or 0) > OPEN_LOOP_SHORTFALL * s["requests"]]
    if behind or late:
        result.warnings.append(
            f"the open-loop generator fell behind its schedule: achieved rate under target by more than "
            f"{OPEN_LOOP_SHORTFALL:.0%} in {len(behind)} step(s), more than {OPEN_LOOP_SHORTFALL:.0%} late sends "
            f"in {len(late)} step(s), {sum(int(s.get('dropped') or 0) for s in result.steps)} dropped; "
            "the latencies past that point measure the generator too; use workers")
    hot = [s for s in result.steps if (s.get("generator_cpu") or 0) > CPU_WARNING_PERCENT]
    if hot:
        peak = max(s["generator_cpu"] for s in hot)
        result.warnings.append(f"the load generator's CPU exceeded {CPU_WARNING_PERCENT:.0f}% in {len(hot)} "
                               f"step(s) (peak {peak:.0f}%): latencies and req/s are suspect; use workers")
