"""Check a fleet plan by replaying a trace against the planned configuration (``irkit plan --validate``).

``validate_plan(answer, trace, model=..., payload=...)`` takes the chosen plan (the best, else the
closest) of an ``irkit.results.plan.FleetAnswer`` and replays the trace in open loop:

- **replicas** (full scale): when the plan has N > 1 instances of ``local.cpuK`` and this machine
  has N x K CPUs, N replicas serve behind a round-robin router (irkit/serve/replicas.py) and the
  whole trace is replayed;
- **share**: otherwise one instance of the configuration gets its share, the trace x 1/N;
- **endpoint**: with ``endpoint_url``, a running server (one instance) gets its share.

The server runs with the plan's environment parameters, pinned like a local job's. The answer says
whether the SLO held in every trace minute, where it did not, and what the plan predicted
(minutes over capacity) before the replay.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.errors import SpecError
from irkit.load.replay import ReplayReport, replay_trace
from irkit.spec.trace import MAX_REPLAY_WINDOWS, read_trace, replay_plan

# ``answer`` is an irkit.results.plan.FleetAnswer and ``plan`` a FleetPlan, read by attribute only:
# the results layer sits above the backends, so nothing here imports it.
FleetAnswer = Any
FleetPlan = Any

DEFAULT_MAX_REPLAY_S = 300.0  # longer traces are time-compressed to about this long unless told
MODE_REPLICAS = "replicas"
MODE_SHARE = "share"
MODE_ENDPOINT = "endpoint"


@dataclass
class Validation:
    """What a replay of the plan showed."""

    config: str
    recommendation_id: str
    instances: int
    mode: str  # replicas | share | endpoint
    replicas: int  # servers that took the load
    rate_scale: float
    time_scale: float
    replay: ReplayReport
    predicted: dict[str, list[int]]
    notes: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.replay.held

    @property
    def unpredicted(self) -> list[int]:
        """Minutes that broke although the plan expected them to hold (no burst or backlog there)."""
        expected = set(self.predicted.get("over_capacity", [])) | set(self.predicted.get("queueing", []))
        return [m for m in self.replay.violated_minutes if m not in expected]

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "recommendation_id": self.recommendation_id, "instances": self.instances,
                "mode": self.mode, "replicas": self.replicas, "rate_scale": self.rate_scale,
                "time_scale": self.time_scale, "held": self.held, "predicted": self.predicted,
                "unpredicted_violations": self.unpredicted, "replay": self.replay.to_dict(), "notes": self.notes}

    def text(self) -> str:
        how = {MODE_REPLICAS: f"{self.replicas} replicas behind a round-robin router, the whole trace",
               MODE_SHARE: f"one instance, 1/{self.instances} of the trace",
               MODE_ENDPOINT: f"the endpoint as one instance, 1/{self.instances} of the trace"}[self.mode]
        lines = [f"validate {self.config} x {self.instances}: {how}, time x{self.time_scale:g} faster",
                 self.replay.text()]
        over = sorted(set(self.predicted.get("over_capacity", [])) | set(self.predicted.get("queueing", [])))
        if over:
            lines.append(f"predicted before the replay: trace minute(s) {over} break (beyond capacity, or queued "
                         "behind a burst)")
        if self.unpredicted:
            lines.append(f"broken although under capacity: minute(s) {self.unpredicted} (latency, not throughput)")
        lines.append("SLO held" if self.held else "SLO NOT held")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def replay_inputs(result: dict[str, Any], job: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The model and payload a local job served and sent (its store meta, else the result)."""
    meta = (job or {}).get("meta") or {}
    model = meta.get("model_path") or (result.get("irkit") or {}).get("model")
    payload = meta.get("payload_path") or (
        ((result.get("InputConfig") or {}).get("ContainerConfig") or {}).get("PayloadConfig") or {}
    ).get("SamplePayloadUrl")
    return model, payload


def _cpus_of(instance_type: str) -> int | None:
    from irkit.spec.fields import LOCAL_INSTANCE_PATTERN

    match = LOCAL_INSTANCE_PATTERN.fullmatch(instance_type)
    return int(match.group(1)) if match else None


def choose_mode(plan: FleetPlan, *, endpoint_url: str | None = None, full_scale: bool | None = None,
                cores: int | None = None) -> str:
    """replicas when N > 1 fits this machine's CPUs (or ``full_scale``), else share; endpoint with a URL."""
    if endpoint_url:
        return MODE_ENDPOINT
    per = _cpus_of(plan.instance_type)
    if per is None:
        raise SpecError("--validate", f"{plan.instance_type} cannot be served on this machine; replay against a "
                                      "deployed endpoint with --endpoint-url URL, or plan a local job's results")
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    fits = plan.instances * per <= cores
    if full_scale and not fits:
        raise SpecError("--full-scale", f"{plan.instances} x {plan.instance_type} need {plan.instances * per} CPUs; "
                                        f"this machine has {cores}")
    if full_scale is False or plan.instances < 2 or not fits:
        return MODE_SHARE
    return MODE_REPLICAS


def default_time_scale(duration_s: float, max_replay_s: float = DEFAULT_MAX_REPLAY_S) -> float:
    """1 when the trace fits in ``max_replay_s``, else the compression that makes it fit."""
    return 1.0 if duration_s <= max_replay_s else duration_s / max_replay_s


def _payload(payload: Any, content_type: str | None, workdir: Path) -> tuple[Path, str]:
    from irkit.package.payload import extract_payload, guess_content_type

    if payload is None:
        raise SpecError("--payload", "name the payload (payload.tar.gz or one file) to replay with")
    path = extract_payload(payload, workdir / "payload")
    return path, content_type or guess_content_type(path)


def validate_plan(
    answer: FleetAnswer,
    trace: Any,
    *,
    model: str | os.PathLike[str] | None = None,
    payload: str | os.PathLike[str] | None = None,
    content_type: str | None = None,
    endpoint_url: str | None = None,
    plan_index: int | None = None,
    time_scale: float | None = None,
    full_scale: bool | None = None,
    workers: int = 0,
    prices: Any = None,
    server_factory: Callable[..., Any] | None = None,
    load_fn: Callable[..., Any] | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    cores: int | None = None,
) -> Validation:
    """Replay ``trace`` against the chosen plan (or ``answer.plans[plan_index]``); see the module doc."""
    if plan_index is not None:
        plan = answer.plans[plan_index]
    else:
        chosen = answer.chosen
        if chosen is None:
            raise SpecError("--validate", "there is no plan to validate (the job has no usable recommendation)")
        plan = chosen
    loaded = read_trace(trace)
    mode = choose_mode(plan, endpoint_url=endpoint_url, full_scale=full_scale, cores=cores)
    replicas = plan.instances if mode == MODE_REPLICAS else 1
    rate_scale = 1.0 if mode == MODE_REPLICAS else 1.0 / plan.instances
    scale = time_scale or default_time_scale(loaded.duration_s)
    schedule = replay_plan(loaded, time_scale=scale, rate_scale=rate_scale, max_windows=MAX_REPLAY_WINDOWS)
    notes = []
    if time_scale is None and scale > 1:
        notes.append(f"the {loaded.duration_s:g} s trace was compressed x{scale:.3g} (same rates, shorter bins); "
                     "pass --time-scale to choose")
    predicted = {"over_capacity": loaded.minutes_above(replicas * plan.max_invocations, rate_scale),
                 "over_target": loaded.minutes_above(replicas * plan.invocations_per_instance_target, rate_scale),
                 "queueing": schedule.queue_minutes(replicas * plan.max_invocations / 60.0,
                                                    answer.slo.value_ms / 1000.0)}
    logs = Path(log_dir) if log_dir else None
    threshold = answer.slo.value_ms
    with tempfile.TemporaryDirectory(prefix="irkit-validate-") as workdir:
        payload_path, ctype = _payload(payload, content_type, Path(workdir))
        if mode == MODE_ENDPOINT:
            assert endpoint_url is not None
            report = replay_trace(endpoint_url, payload_path, ctype, schedule, slo_ms=threshold,
                                  percentile=answer.slo.percentile, workers=workers, load_fn=load_fn,
                                  log_path=(logs / "load-validate.log") if logs else None)
        else:
            report = _replay_local(plan, model, schedule, replicas, payload_path, ctype, threshold,
                                   answer.slo.percentile, workers, prices, server_factory, load_fn, logs)
    return Validation(plan.config, plan.recommendation_id, plan.instances, mode, replicas, rate_scale, scale, report,
                      predicted, notes)


def _replay_local(plan: FleetPlan, model: Any, schedule: Any, replicas: int, payload_path: Path, ctype: str,
                  threshold: float, percentile: str, workers: int, prices: Any,
                  server_factory: Callable[..., Any] | None, load_fn: Callable[..., Any] | None,
                  logs: Path | None) -> ReplayReport:
    from irkit.backends.local.runner import send_preflight
    from irkit.instances import local_profile

    if model is None:
        raise SpecError("--model", "name the model to serve for the replay (model.tar.gz or SavedModel folder)")
    profile = local_profile(plan.instance_type, prices)
    if replicas > 1:
        cpus = sorted(os.sched_getaffinity(0))[: replicas * len(profile.cpus)]
    else:
        cpus = list(profile.cpus)
    if server_factory is None:
        from irkit.serve.process import ServerProcess

        server_factory = ServerProcess
    kwargs: dict[str, Any] = {"replicas": replicas} if replicas > 1 else {}
    server = server_factory(model, port=0, env=dict(plan.environment), cpus=cpus,
                            log_path=(logs / "server-validate.log") if logs else None, **kwargs)
    try:
        server.start()
        body = payload_path.read_bytes()
        for _ in range(max(1, replicas)):  # warm every replica once, as a job's pre-flight does
            send_preflight(server.url, body, ctype)
        return replay_trace(server.url, payload_path, ctype, schedule, slo_ms=threshold, percentile=percentile,
                            workers=workers, load_fn=load_fn,
                            log_path=(logs / "load-validate.log") if logs else None)
    finally:
        server.stop()
