"""Drive one load test and read MaxInvocations off its curve: the part both backends share.

``drive_load(url, outcome, settings, stop_event, on_step, load_fn, usage)`` runs the traffic of
``settings`` at ``url`` with ``load_fn`` (``generator.run_load``, or the SageMaker runtime's variant,
or a fake), samples the server's CPU and memory per step when ``usage`` is given, stops the load
early when ``knee.stop_reason`` says so, and fills ``outcome`` (a ``ConfigOutcome``) with the steps,
the knee (MaxInvocations with its interval, ModelLatency, stability), the load generator's own cost
and the warnings. It starts no server and knows no backend.

With neither traffic nor open loop in ``settings`` it runs a knee search (knee_search.py): the
search ends itself, so the SLO does not stop it early (it needs the first level past the SLO).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from irkit.load import contention
from irkit.load import knee as plateau_finder
from irkit.spec import traffic as shapes

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
    load_config: dict[str, Any] | None = None  # more locustfile keys (a trace replay's even arrivals)
    play_to_end: bool = False  # a trace replay runs to its end: SLO breaks are what it reports
    knee_search: Any = None  # knee_search.KneeSettings: used when there is neither traffic nor open_loop
    generator_cores: tuple[int, ...] | None = None  # pin the load generator here (None: not pinned)
    shares_server_cores: bool | None = None  # the generator runs on the server's cores (None: unknown)

    @property
    def searches_knee(self) -> bool:
        return self.traffic is None and self.open_loop is None

    def log_path(self, name: str) -> Path | None:
        """Where the log called ``name`` goes, or None when logs are not kept."""
        return None if self.log_dir is None else Path(self.log_dir) / name

    def length_s(self) -> float:
        """How long the traffic (or the open-loop schedule) runs."""
        if self.open_loop is not None:
            return float(len(self.open_loop.rates_per_second) * self.open_loop.duration_in_seconds)
        if self.traffic is None:
            from irkit.load.knee_search import KneeSettings

            return KneeSettings.from_value(self.knee_search).bound_s()
        return shapes.total_seconds(self.traffic)


@dataclass
class ConfigOutcome:
    """A finished config: what the store keeps and load/describe.py turns into IR's shape."""

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
    max_invocations_ci: list[int] | None = None  # [lo, hi] req/min, 95%
    stable: bool | None = None  # every level up to the SLO settled (None: no windows to tell)
    knee_users: int | None = None  # the users of the knee: where throughput levels off
    knee_detail: dict[str, Any] | None = None  # {"best_users", "confirmed", "latency_users"} (knee.Plateau)
    generator: dict[str, Any] | None = None  # {"cpu_percent", "shares_server_cores", "cores"}
    contention: dict[str, Any] | None = None  # {"others_percent", "steal_percent"} (contention.py)
    warnings: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    fidelity: dict[str, Any] | None = None  # vs TensorFlow, for other runtimes (irkit.serve.fidelity)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, without the steps (the store keeps those in their own table)."""
        out = asdict(self)
        out.pop("steps")
        return out


def core_usage(usage: Any) -> dict[str, float]:
    """The STEP fields ``server_cores_busy`` / ``server_cores_steal`` / ``server_cores`` of a usage
    sample, where it has them (irkit.serve.process.ServerUsage)."""
    out: dict[str, float] = {}
    for name, key in (("cores_busy_percent", "server_cores_busy"), ("steal_percent", "server_cores_steal"),
                      ("cores", "server_cores")):
        value = _usage_field(usage, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def _usage_field(usage: Any, name: str, fallback: str | None = None) -> Any:
    """``name`` (else ``fallback``) of a usage sample that is a mapping or an object (None when absent)."""
    get = usage.get if isinstance(usage, Mapping) else (lambda key, default=None: getattr(usage, key, default))
    return get(name, get(fallback) if fallback else None)


def usage_pair(usage: Any) -> tuple[float | None, float | None]:
    """ServerProcess.usage() as (cpu %, memory %), whether it is a tuple, a mapping or an object."""
    if usage is None:
        return None, None
    if isinstance(usage, (tuple, list)):
        cpu, mem = (list(usage) + [None, None])[:2]
    else:
        cpu = _usage_field(usage, "cpu_percent", "cpu")
        mem = _usage_field(usage, "memory_percent", "memory")
    return (None if cpu is None else float(cpu)), (None if mem is None else float(mem))


def _target_load_kwargs(settings: LoadSettings) -> dict[str, Any]:
    """run_load's extra config for multi-model load (none without target_models, so fakes keep working)."""
    extra = dict(settings.load_config or {})
    if settings.target_models is not None:
        extra.update({"target_models": settings.target_models.to_dict(), "seed": settings.seed})
    return {"extra_config": extra} if extra else {}


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
                    usage_sample = self.usage()
                    cpu, mem = usage_pair(usage_sample)
                except Exception:  # noqa: BLE001 - the server may be gone; the step still counts
                    usage_sample, cpu, mem = None, None, None
                step.setdefault("server_cpu", cpu)
                step.setdefault("server_memory", mem)
                step.update(core_usage(usage_sample))
            self.outcome.steps.append(step)
            if self.on_step is not None:
                self.on_step(step)
            if self.settings.searches_knee:
                return  # the search ends itself, past the SLO if it must
            reason = plateau_finder.stop_reason(
                self.outcome.steps, threshold_ms=self.settings.threshold_ms,
                percentile=self.settings.percentile, flat_invocations=self.settings.flat_invocations,
                max_invocations=self.settings.max_invocations,
            )
            if reason and not self.settings.play_to_end and not self.stop_event.is_set():
                self.outcome.stop_reason = reason
                self.stop_event.set()


def _knee_search(settings: LoadSettings) -> Any:
    from irkit.load.knee_search import KneeSearch, KneeSettings

    return KneeSearch(KneeSettings.from_value(settings.knee_search), threshold_ms=settings.threshold_ms,
                      percentile=settings.percentile, max_invocations=settings.max_invocations)


def _load_kwargs(settings: LoadSettings, search: Any) -> dict[str, Any]:
    """run_load's optional keywords, only when used (so simpler load functions keep working)."""
    kwargs = _target_load_kwargs(settings)
    if search is not None:
        kwargs["knee"] = search
    if settings.generator_cores:
        kwargs["cpus"] = tuple(settings.generator_cores)
    return kwargs


def drive_load(url: str, outcome: ConfigOutcome, settings: LoadSettings, stop_event: threading.Event,
               on_step: StepCallback | None, load_fn: Callable[..., Any],
               usage: Callable[[], Any] | None) -> None:
    """Run the traffic (or the knee search) at ``url``, collect the steps into ``outcome``, read the knee."""
    watcher = _StepWatcher(outcome, settings, stop_event, on_step, usage)
    search = _knee_search(settings) if settings.searches_knee else None
    max_seconds = settings.max_seconds
    if max_seconds is None:
        max_seconds = settings.length_s() + LOAD_MARGIN_S
    outcome.started_at = time.time()
    result = load_fn(
        url, settings.payload_path, settings.content_type, settings.traffic,
        latency_threshold_ms=settings.threshold_ms, percentile=settings.percentile,
        open_loop=settings.open_loop, workers=settings.workers, on_step=watcher,
        stop_event=stop_event, max_seconds=max_seconds, log_path=settings.log_path(f"load-{outcome.config_id}.log"),
        **_load_kwargs(settings, search),
    )
    outcome.ended_at = time.time()
    outcome.load_mode = getattr(result, "mode", None) or ("open" if settings.open_loop is not None else "closed")
    outcome.warnings.extend(getattr(result, "warnings", None) or [])
    # Steps the generator returned but never streamed (or streamed without config_id) count too.
    if not outcome.steps:
        for step in getattr(result, "steps", None) or []:
            watcher(step)
    read_knee(outcome, settings, search)


def read_knee(outcome: ConfigOutcome, settings: LoadSettings, search: Any = None) -> None:
    """Fill ``outcome`` from its steps: MaxInvocations and its interval, ModelLatency, stability, generator."""
    if search is not None:
        found = search.plateau(outcome.steps)
    else:
        found = plateau_finder.find_plateau(outcome.steps, threshold_ms=settings.threshold_ms,
                                            percentile=settings.percentile)
    outcome.max_invocations = found.max_invocations
    outcome.model_latency_ms = found.model_latency_ms
    outcome.plateau_step = found.step_index
    outcome.plateau_reason = found.reason
    outcome.max_invocations_ci = found.ci_per_min
    outcome.knee_users = found.users
    if found.found:
        outcome.knee_detail = {"best_users": found.best_users, "confirmed": found.confirmed,
                               "latency_users": found.latency_users}
    outcome.stable = _stable(outcome.steps, found.step_index, settings, search is not None)
    outcome.generator = generator_record(outcome.steps, settings)
    outcome.contention = contention.record(outcome.steps, [found.step_index, *_best_steps(outcome.steps, found)],
                                           outcome.generator)
    note = contention.warning(outcome.contention)
    if note:
        outcome.warnings.append(note)
    if found.found:
        plateau_step = outcome.steps[found.step_index]
        outcome.cpu_utilization = plateau_step.get("server_cpu")
        outcome.memory_utilization = plateau_step.get("server_memory")
    if found.reason == plateau_finder.REASON_NOT_SATURATED:
        if search is not None:
            outcome.warnings.append(f"throughput was still growing at knee_search.max_users "
                                    f"({search.settings.max_users} users): MaxInvocations is a lower bound; "
                                    "raise max_users")
        else:
            outcome.warnings.append("throughput was still growing at the last step: MaxInvocations is a lower "
                                    "bound; add steps or users")


def _best_steps(steps: list[dict[str, Any]], found: plateau_finder.Plateau) -> list[int]:
    """The steps of the level MaxInvocations stands on (the best level's, when it was confirmed)."""
    if not found.confirmed or found.best_users is None:
        return []
    return [i for i, s in enumerate(steps) if s.get("users") == found.best_users]


def _stable(steps: list[dict[str, Any]], knee_index: int, settings: LoadSettings, by_users: bool) -> bool | None:
    """The steps MaxInvocations rests on settled: the knee and the best step inside the SLO it was
    compared with (a noisy level past the knee decides nothing). None when they have no windows."""
    if knee_index < 0:
        return None
    order = sorted(steps, key=lambda s: s.get("users") or 0) if by_users else list(steps)
    inside = []
    for step in order:
        if plateau_finder.breaks_slo(step, settings.threshold_ms, settings.percentile):
            break
        inside.append(step)
    best = max(inside, key=lambda s: float(s.get("rps") or 0.0), default=None)
    flags = [s.get("stable") for s in (steps[knee_index], best) if s is not None]
    known = [bool(f) for f in flags if f is not None]
    return all(known) if known else None


def generator_record(steps: list[dict[str, Any]], settings: LoadSettings) -> dict[str, Any]:
    """``{"cpu_percent", "shares_server_cores", "cores"}``: the busiest level's generator CPU (100 = a core)."""
    cpu = [float(s["generator_cpu"]) for s in steps if s.get("generator_cpu") is not None]
    cores = settings.generator_cores
    if cores is None:
        cores = tuple(sorted(os.sched_getaffinity(0)))
    return {"cpu_percent": round(max(cpu), 1) if cpu else None,
            "shares_server_cores": settings.shares_server_cores, "cores": list(cores)}
