"""Run the model server in a subprocess: start, pin, wait for /ping, sample CPU/memory, reap.

``ServerProcess`` starts ``python -m irkit.serve`` in its own session (so it gets
no terminal Ctrl-C and the whole group can be killed), pins it and its workers to ``cpus`` with
``os.sched_setaffinity``, and times the start up to the first 200 on ``/ping`` (IR's
ModelSetupTime). ``stop()`` sends SIGTERM to the tree, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from irkit.errors import BackendError
from irkit.serve.hosting import EXIT_WITH_PARENT_ENV

START_TIMEOUT_S = 180.0
STOP_GRACE_S = 5.0
LOG_TAIL_CHARS = 3000


class ServerUsage(NamedTuple):
    """CPU % of the pinned CPUs (0-100, all of the tree's processes) and memory % of the machine;
    how busy those CPUs were with anything at all (0-100), and how much of them the hypervisor took
    (``steal``). ``cores_busy - cpu`` is what other processes used of the server's cores."""

    cpu_percent: float
    memory_percent: float
    cores_busy_percent: float | None = None
    steal_percent: float | None = None
    cores: int | None = None  # how many CPUs the percentages are of


def core_times(cores: list[int]) -> tuple[float, float, float] | None:
    """(total, busy, steal) CPU seconds so far, added over ``cores`` (psutil's per-CPU times)."""
    import psutil

    per_cpu = psutil.cpu_times(percpu=True)
    total = busy = steal = 0.0
    for core in cores:
        if core >= len(per_cpu):
            return None
        t = per_cpu[core]
        whole = sum(t)
        idle = t.idle + getattr(t, "iowait", 0.0)
        # guest time is already inside user time on Linux
        whole -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
        total += whole
        stolen = getattr(t, "steal", 0.0)
        busy += whole - idle - stolen
        steal += stolen
    return total, busy, steal


def log_tail(path: Path | None, chars: int = LOG_TAIL_CHARS) -> str:
    if path is None or not path.is_file():
        return "(no log)"
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - chars))
        return handle.read().decode("utf-8", "replace").strip() or "(empty log)"


class ServerProcess:
    """The model server as a child process; a context manager that always reaps it."""

    def __init__(self, model_path: str | Path | None, *, port: int = 0, host: str = "127.0.0.1",
                 env: Mapping[str, Any] | None = None, cpus: Iterable[int] | None = None,
                 log_path: str | Path | None = None, workers: int | None = None, multi_model: bool = False,
                 max_loaded: int | None = None, memory_mb: float | None = None,
                 containers: Mapping[str, str | Path] | None = None, replicas: int = 1) -> None:
        """``multi_model=True``: ``model_path`` is a folder of ``*.tar.gz`` served as a multi-model
        endpoint (``max_loaded`` / ``memory_mb`` bound it). ``containers={hostname: model}``: a
        multi-container endpoint (``model_path`` None). See docs/multi-model.md. ``replicas=N``:
        N copies of the model behind a round-robin router, ``cpus`` cut into one block each
        (irkit/serve/replicas.py)."""
        self.containers = {str(k): Path(v) for k, v in (containers or {}).items()}
        if self.containers and model_path is not None:
            raise BackendError("give either a model path or containers, not both")
        if not self.containers and model_path is None:
            raise BackendError("no model: give a model path (or containers)")
        self.model_path = Path(model_path) if model_path is not None else Path(next(iter(self.containers.values())))
        self.multi_model = multi_model
        self.max_loaded = max_loaded
        self.memory_mb = memory_mb
        self.port = int(port)
        self.host = host
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.cpus = sorted(set(cpus)) if cpus else None
        self.log_path = Path(log_path) if log_path else None
        self.workers = workers
        self.replicas = max(1, int(replicas))
        self.setup_time_s: float | None = None
        self.process: subprocess.Popen | None = None
        self._work_dir: Path | None = None
        self._log: IO[bytes] | None = None
        self._cpu_sample: tuple[float, dict[int, float], tuple[float, float, float] | None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> ServerProcess:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def command(self, port_file: Path) -> list[str]:
        if self.containers:
            served = [arg for name, path in self.containers.items() for arg in ("--container", f"{name}={path}")]
        elif self.multi_model:
            served = ["--multi-model", str(self.model_path)]
            if self.max_loaded is not None:
                served += ["--max-loaded", str(self.max_loaded)]
            if self.memory_mb is not None:
                served += ["--memory-mb", str(self.memory_mb)]
        else:
            served = [str(self.model_path)]
        cmd = [sys.executable, "-m", "irkit.serve", *served,
               "--host", self.host, "--port", str(self.port), "--port-file", str(port_file),
               "--work-dir", str(self._work_dir), "--log-level", "info"]
        if self.cpus:
            cmd += ["--cpus", ",".join(str(c) for c in self.cpus)]
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        if self.replicas > 1:
            cmd += ["--replicas", str(self.replicas)]
        return cmd

    def start(self, timeout: float = START_TIMEOUT_S) -> ServerProcess:
        """Launch and wait for /ping; BackendError with the log's tail if it dies or never answers."""
        if self.process is not None:
            raise BackendError("this ServerProcess was already started")
        for path in self.containers.values() or [self.model_path]:
            if not path.exists():
                raise BackendError(f"model {str(path)!r} does not exist")
        self._work_dir = Path(tempfile.mkdtemp(prefix="irkit-server-"))
        if self.log_path is None:
            self.log_path = self._work_dir / "server.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        port_file = self._work_dir / "port"
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault(EXIT_WITH_PARENT_ENV, str(os.getpid()))  # the server ends if we die (hosting.exit_with_parent)
        self._log = open(self.log_path, "ab")
        started = time.monotonic()
        self.process = subprocess.Popen(self.command(port_file), stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            if self.cpus:
                try:  # the server pins itself too; this covers the moments before it does
                    os.sched_setaffinity(self.process.pid, self.cpus)
                except (ProcessLookupError, OSError):
                    pass
            self._wait_ready(port_file, started + timeout)
        except BaseException:
            self.stop()
            raise
        self.setup_time_s = time.monotonic() - started
        self._cpu_sample = self._cpu_times()
        return self

    def _wait_ready(self, port_file: Path, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BackendError(f"model server for {str(self.model_path)!r} exited with code "
                                   f"{self.process.returncode} during start; log {self.log_path}:\n"
                                   f"{log_tail(self.log_path)}")
            if port_file.is_file() and self._ping(port_file):
                return
            time.sleep(0.1)
        raise BackendError(f"model server for {str(self.model_path)!r} did not answer /ping in time; "
                           f"log {self.log_path}:\n{log_tail(self.log_path)}")

    def _ping(self, port_file: Path) -> bool:
        if not self.port:
            try:
                self.port = int(port_file.read_text().strip())
            except ValueError:
                return False
        try:
            with urllib.request.urlopen(self.url + "/ping", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def processes(self) -> list[Any]:
        """The server's process and all its descendants (psutil.Process objects)."""
        import psutil

        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the tree, SIGKILL what is left after ``grace_s``; idempotent, leaves no orphans."""
        import psutil

        process = self.process
        if process is not None and process.returncode is None:
            tree = self.processes()
            for proc in tree:
                _signal(proc, signal.SIGTERM)
            _, alive = psutil.wait_procs(tree, timeout=grace_s)
            try:
                os.killpg(process.pid, signal.SIGKILL)  # anything else in its session's group
            except (ProcessLookupError, PermissionError):
                pass
            for proc in alive:
                _signal(proc, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=grace_s)
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
                pass
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._work_dir is not None:
            if self.log_path is not None and self.log_path.parent == self._work_dir:
                self.log_path = None  # its folder goes away
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    # -- usage ----------------------------------------------------------------------------------
    def _cpu_times(self) -> tuple[float, dict[int, float], tuple[float, float, float] | None]:
        import psutil

        cores = list(self.cpus) if self.cpus else sorted(os.sched_getaffinity(0))
        times: dict[int, float] = {}
        for proc in self.processes():
            try:
                cpu = proc.cpu_times()
                times[proc.pid] = cpu.user + cpu.system
            except psutil.Error:
                continue
        return time.monotonic(), times, core_times(cores)

    def usage(self, interval: float | None = None) -> ServerUsage:
        """CPU and memory of the server's process tree.

        CPU is averaged since the previous call (or since start), or over ``interval`` seconds when
        given, as a % of the CPUs the server may use. Memory is the tree's RSS as a % of the machine.
        """
        import psutil

        if self.process is None or self.process.poll() is not None:
            raise BackendError("the model server is not running")
        if interval is not None or self._cpu_sample is None:
            self._cpu_sample = self._cpu_times()
            time.sleep(interval if interval is not None else 0.2)
        before_t, before, cores_before = self._cpu_sample
        now_t, now, cores_now = self._cpu_times()
        self._cpu_sample = (now_t, now, cores_now)
        used = sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in now.items())
        ncpus = len(self.cpus) if self.cpus else len(os.sched_getaffinity(0))
        cpu = 100.0 * used / max(now_t - before_t, 1e-6) / max(ncpus, 1)
        memory = 0.0
        for proc in self.processes():
            try:
                memory += proc.memory_percent()
            except psutil.Error:
                continue
        busy = steal = None
        if cores_before is not None and cores_now is not None and cores_now[0] > cores_before[0]:
            total = cores_now[0] - cores_before[0]
            busy = round(min(100.0, 100.0 * max(0.0, cores_now[1] - cores_before[1]) / total), 1)
            steal = round(min(100.0, 100.0 * max(0.0, cores_now[2] - cores_before[2]) / total), 1)
        return ServerUsage(round(min(cpu, 100.0), 1), round(memory, 2), busy, steal, ncpus)


def _signal(proc: Any, sig: int) -> None:
    import psutil

    try:
        proc.send_signal(sig)
    except psutil.Error:
        pass
