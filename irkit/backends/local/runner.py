"""The per-configuration loop of a local job: serve, pre-flight, load, find the plateau, reap.

``run_config`` tests one (instance type x env combination); ``run_endpoint`` benchmarks a server
irkit did not start. Both return a ``ConfigOutcome``. The server and the load generator are
injected (``server_factory``, ``load_fn``), so the loop is tested with fakes as well as for real.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from irkit.errors import BackendError
from irkit.load import knee as plateau_finder

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 60.0
# The traffic of a Default job (no phases/stairs in the spec): 4 stairs of 15 s, +1 user each.
DEFAULT_STAIRS = {"duration_in_seconds": 15, "number_of_steps": 4, "users_per_step": 1}
LOAD_MARGIN_S = 60.0  # extra time the load generator gets over the traffic's own length

StepCallback = Callable[[dict[str, Any]], None]


@dataclass
class LoadSettings:
    """What a config's load test needs besides the server: the job's traffic and stopping rules."""

    payload_path: Path
    content_type: str
    traffic: Any  # irkit.spec.TrafficPattern
    threshold_ms: float | None = None
    percentile: str = "P95"
    flat_invocations: str | None = None
    max_invocations: int | None = None
    open_loop: Any = None  # irkit.spec.OpenLoop
    workers: int = 0  # Locust worker processes; 0 = one single Locust process
    max_seconds: float | None = None
    log_dir: Path | None = None  # server and Locust logs go here when set
    target_models: Any = None  # irkit.spec.TargetModels: multi-model / multi-container load
    seed: int = 0  # the target sampler's seed


@dataclass
class ConfigOutcome:
    """A finished config: what the store keeps and recommendation.py turns into IR's shape."""

    config_id: str
    instance_type: str
    environment: dict[str, str]
    max_invocations: int = 0
    model_latency_ms: float | None = None
    plateau_step: int = -1
    plateau_reason: str = plateau_finder.REASON_NO_DATA
    stop_reason: str | None = None
    price_per_hour: float = 0.0
    price_is_estimate: bool = True
    model_setup_time_s: float | None = None
    cpu_utilization: float | None = None
    memory_utilization: float | None = None
    load_mode: str = "closed"
    started_at: float | None = None
    ended_at: float | None = None
    url: str | None = None  # set for an existing endpoint
    endpoint_name: str | None = None
    warnings: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, without the steps (the store keeps those in their own table)."""
        out = asdict(self)
        out.pop("steps")
        return out


def traffic_duration_s(traffic: Any) -> float:
    """How long a traffic pattern runs, from its phases or stairs."""
    if traffic is None:
        return 0.0
    if getattr(traffic, "stairs", None) is not None:
        stairs = traffic.stairs
        return float(stairs.duration_in_seconds * stairs.number_of_steps)
    return float(sum(p.duration_in_seconds for p in getattr(traffic, "phases", ())))


def default_traffic() -> Any:
    from irkit.spec import Stairs, TrafficPattern

    return TrafficPattern("STAIRS", (), Stairs(**DEFAULT_STAIRS))


def send_preflight(url: str, body: bytes, content_type: str, timeout: float = PREFLIGHT_TIMEOUT_S,
                   headers: Mapping[str, str] | None = None) -> float:
    """POST the sample payload once; return its latency in ms or raise BackendError with the answer."""
    request = urllib.request.Request(
        url.rstrip("/") + "/invocations", data=body, method="POST",
        headers={"Content-Type": content_type, "Accept": "application/json", **(headers or {})},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise BackendError(f"pre-flight request to {url}/invocations got HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BackendError(f"pre-flight request to {url}/invocations failed: {exc}") from exc
    return (time.perf_counter() - started) * 1000


def _unload_preflight_model(url: str, settings: LoadSettings) -> None:
    """Multi-model: unload the model the pre-flight loaded, so every model starts the test cold."""
    tm = settings.target_models
    if tm is None or not tm.models or tm.containers:
        return
    name = urllib.parse.quote(tm.models[0])
    request = urllib.request.Request(f"{url.rstrip('/')}/models/{name}", method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=PREFLIGHT_TIMEOUT_S) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:  # a server without the unload API: start warm, say so
        log.warning("could not unload %s after the pre-flight (%s): it starts the test loaded", tm.models[0], exc)


def _usage_pair(usage: Any) -> tuple[float | None, float | None]:
    """ServerProcess.usage() as (cpu %, memory %), whether it is a tuple, a mapping or an object."""
    if usage is None:
        return None, None
    if isinstance(usage, Mapping):
        cpu = usage.get("cpu_percent", usage.get("cpu"))
        mem = usage.get("memory_percent", usage.get("memory"))
    elif isinstance(usage, (tuple, list)):
        cpu, mem = (list(usage) + [None, None])[:2]
    else:
        cpu = getattr(usage, "cpu_percent", getattr(usage, "cpu", None))
        mem = getattr(usage, "memory_percent", getattr(usage, "memory", None))
    return (None if cpu is None else float(cpu)), (None if mem is None else float(mem))


def _preflight_headers(settings: LoadSettings) -> dict[str, str]:
    """Multi-model: the pre-flight goes to the first listed model/container (so that one starts warm)."""
    tm = settings.target_models
    if tm is None:
        return {}
    from irkit.load.model_tally import target_headers

    return target_headers(tm.models[0] if tm.models else None, tm.containers[0] if tm.containers else None)


def _target_load_kwargs(settings: LoadSettings) -> dict[str, Any]:
    """run_load's extra config for multi-model load (none without target_models, so fakes keep working)."""
    if settings.target_models is None:
        return {}
    return {"extra_config": {"target_models": settings.target_models.to_dict(), "seed": settings.seed}}


def check_target_folder(target_models: Any, model_path: str | os.PathLike[str]) -> Path:
    """The folder a local multi-model job serves: every listed model (or container) has its tarball.

    Raises SpecError naming ``model`` or ``target_models.<key>[i]``.
    """
    from irkit.errors import SpecError

    folder = Path(model_path)
    if not folder.is_dir():
        raise SpecError("model", f"with target_models the model must be a folder of *.tar.gz (one per model), "
                                 f"got {str(folder)!r}")
    if target_models.containers and target_models.models:
        raise SpecError("target_models.containers", "the local backend serves models or containers, not both "
                                                    "(benchmark such an endpoint with --endpoint-url)")
    key, names = (("models", target_models.models) if target_models.models
                  else ("containers", [f"{host}.tar.gz" for host in target_models.containers]))
    for i, name in enumerate(names):
        if not (folder / name).is_file():
            raise SpecError(f"target_models.{key}[{i}]", f"{name!r} is not in the model folder {str(folder)!r}")
    return folder


def _server_kwargs(model_path: str | Path, settings: LoadSettings) -> tuple[str | Path | None, dict[str, Any]]:
    """How ServerProcess serves a multi-model job: a folder of tarballs, or one server per container."""
    tm = settings.target_models
    if tm is None:
        return model_path, {}
    folder = check_target_folder(tm, model_path)
    if tm.containers:
        return None, {"containers": {host: folder / f"{host}.tar.gz" for host in tm.containers}}
    return folder, {"multi_model": True}


def _log_path(settings: LoadSettings, name: str) -> Path | None:
    return None if settings.log_dir is None else Path(settings.log_dir) / name


def _reset_usage(server: Any) -> None:
    """Start the server's CPU average here, so the first step's figure excludes the model load."""
    try:
        server.usage()
    except Exception:  # noqa: BLE001 - a usage failure never fails the test
        pass


def _default_server_factory() -> Callable[..., Any]:
    from irkit.serve.process import ServerProcess

    return ServerProcess


def _default_load_fn() -> Callable[..., Any]:
    from irkit.load.generator import run_load

    return run_load


class _StepWatcher:
    """Receives steps from the load generator: samples the server, stores, and stops at the plateau."""

    def __init__(self, outcome: ConfigOutcome, settings: LoadSettings, stop_event: threading.Event,
                 on_step: StepCallback | None, usage: Callable[[], Any] | None) -> None:
        self.outcome, self.settings, self.stop_event = outcome, settings, stop_event
        self.on_step, self.usage = on_step, usage
        self.lock = threading.Lock()

    def __call__(self, step: dict[str, Any]) -> None:
        with self.lock:
            step = {**step, "config_id": self.outcome.config_id}
            if self.usage is not None:
                try:
                    cpu, mem = _usage_pair(self.usage())
                except Exception:  # noqa: BLE001 - the server may be gone; the step still counts
                    cpu = mem = None
                step.setdefault("server_cpu", cpu)
                step.setdefault("server_memory", mem)
            self.outcome.steps.append(step)
            if self.on_step is not None:
                self.on_step(step)
            reason = plateau_finder.stop_reason(
                self.outcome.steps, threshold_ms=self.settings.threshold_ms,
                percentile=self.settings.percentile, flat_invocations=self.settings.flat_invocations,
                max_invocations=self.settings.max_invocations,
            )
            if reason and not self.stop_event.is_set():
                self.outcome.stop_reason = reason
                self.stop_event.set()


def drive_load(url: str, outcome: ConfigOutcome, settings: LoadSettings, stop_event: threading.Event,
                on_step: StepCallback | None, load_fn: Callable[..., Any],
                usage: Callable[[], Any] | None) -> None:
    """Run the traffic at ``url``, collect the steps into ``outcome`` and read the plateau off them."""
    watcher = _StepWatcher(outcome, settings, stop_event, on_step, usage)
    max_seconds = settings.max_seconds
    if max_seconds is None:
        length = (len(settings.open_loop.rates_per_second) * settings.open_loop.duration_in_seconds
                  if settings.open_loop is not None else traffic_duration_s(settings.traffic))
        max_seconds = length + LOAD_MARGIN_S
    outcome.started_at = time.time()
    result = load_fn(
        url, settings.payload_path, settings.content_type, settings.traffic,
        latency_threshold_ms=settings.threshold_ms, percentile=settings.percentile,
        open_loop=settings.open_loop, workers=settings.workers, on_step=watcher,
        stop_event=stop_event, max_seconds=max_seconds, log_path=_log_path(settings, f"load-{outcome.config_id}.log"),
        **_target_load_kwargs(settings),
    )
    outcome.ended_at = time.time()
    outcome.load_mode = getattr(result, "mode", None) or ("open" if settings.open_loop is not None else "closed")
    outcome.warnings.extend(getattr(result, "warnings", None) or [])
    # Steps the generator returned but never streamed (or streamed without config_id) count too.
    if not outcome.steps:
        for step in getattr(result, "steps", None) or []:
            watcher(step)
    found = plateau_finder.find_plateau(outcome.steps, threshold_ms=settings.threshold_ms,
                                        percentile=settings.percentile)
    outcome.max_invocations = found.max_invocations
    outcome.model_latency_ms = found.model_latency_ms
    outcome.plateau_step = found.step_index
    outcome.plateau_reason = found.reason
    if found.found:
        plateau_step = outcome.steps[found.step_index]
        outcome.cpu_utilization = plateau_step.get("server_cpu")
        outcome.memory_utilization = plateau_step.get("server_memory")
    if found.reason == plateau_finder.REASON_NOT_SATURATED:
        outcome.warnings.append("throughput was still growing at the last step: MaxInvocations is a lower "
                                "bound; add steps or users")


def run_config(
    config: Any,
    model_path: str | Path,
    settings: LoadSettings,
    *,
    prices: Mapping[str, float] | None = None,
    stop_event: threading.Event | None = None,
    on_step: StepCallback | None = None,
    server_factory: Callable[..., Any] | None = None,
    load_fn: Callable[..., Any] | None = None,
) -> ConfigOutcome:
    """Test one configuration (``irkit.spec.Configuration``) end to end; the server is always stopped.

    Raises BackendError when the server does not start or the pre-flight request fails.
    """
    from irkit.instances import local_profile

    profile = local_profile(config.instance_type, prices)
    outcome = ConfigOutcome(config.config_id, config.instance_type, dict(config.environment),
                            price_per_hour=profile.price_per_hour, price_is_estimate=profile.price_is_estimate)
    stop_event = stop_event or threading.Event()
    factory = server_factory or _default_server_factory()
    log_path = _log_path(settings, f"server-{config.config_id}.log")
    served, serve_kwargs = _server_kwargs(model_path, settings)
    server = factory(served, port=0, env=dict(config.environment), cpus=profile.cpus, log_path=log_path,
                     **serve_kwargs)
    try:
        server.start()
        outcome.model_setup_time_s = server.setup_time_s
        if stop_event.is_set():
            return outcome
        send_preflight(server.url, Path(settings.payload_path).read_bytes(), settings.content_type,
                       headers=_preflight_headers(settings))
        _unload_preflight_model(server.url, settings)
        _reset_usage(server)
        drive_load(server.url, outcome, settings, stop_event, on_step, load_fn or _default_load_fn(),
                    server.usage)
    finally:
        server.stop()
    return outcome


def run_endpoint(
    url: str,
    settings: LoadSettings,
    *,
    endpoint_name: str | None = None,
    stop_event: threading.Event | None = None,
    on_step: StepCallback | None = None,
    load_fn: Callable[..., Any] | None = None,
) -> ConfigOutcome:
    """Benchmark a server irkit did not start (``--endpoint-url``): no setup time, no CPU figures."""
    from irkit.load.describe import ENDPOINT_CONFIG_ID, endpoint_name_for

    outcome = ConfigOutcome(ENDPOINT_CONFIG_ID, "endpoint", {}, url=url,
                            endpoint_name=endpoint_name or endpoint_name_for(url))
    stop_event = stop_event or threading.Event()
    send_preflight(url, Path(settings.payload_path).read_bytes(), settings.content_type,
                   headers=_preflight_headers(settings))
    drive_load(url, outcome, settings, stop_event, on_step, load_fn or _default_load_fn(), None)
    return outcome
