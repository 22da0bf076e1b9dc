"""Run one local job to its end inside the background job process, writing everything to the store.

``run_job(store, job_id)`` reads the spec and inputs the job was submitted with, tests each
configuration not yet finished (so a resumed job skips those), writes each step and each config
as soon as it is done, and saves the Describe-shaped result. ``stop_event`` (set on SIGTERM/SIGINT)
ends the running load tests early and leaves unfinished configs PENDING for a resume.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from irkit import states
from irkit.backends.local.runner import run_config, run_endpoint
from irkit.load import describe
from irkit.load.drive import ConfigOutcome, LoadSettings
from irkit.package.payload import extract_payload, guess_content_type
from irkit.spec.request import traffic_request
from irkit.spec.traffic import job_traffic
from irkit.store import Store

STOPPED_REASON = "stopped before the end; a resume runs it again"


def job_dir(store: Store, job_id: str) -> Path:
    """Where a job keeps its log and extracted payload: next to the store's file."""
    path = store.path.parent / "jobs" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def planned_configs(spec: Any, meta: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(config_id, instance_type, env) in run order, honouring ``max_tests``; one row for an endpoint."""
    if meta.get("endpoint_url"):
        return [(describe.ENDPOINT_CONFIG_ID, "endpoint", {})]
    configs = spec.configurations()
    if spec.max_tests:
        configs = configs[: spec.max_tests]
    return [(c.config_id, c.instance_type, dict(c.environment)) for c in configs]


def load_settings(spec: Any, meta: dict[str, Any], workdir: Path) -> LoadSettings:
    payload = extract_payload(meta["payload_path"], workdir / "payload")
    content_type = (spec.supported_content_types[0] if spec.supported_content_types
                    else guess_content_type(payload))
    threshold = spec.latency_threshold
    replay = spec.trace.plan() if spec.trace is not None else None  # traffic_type TRACE (spec/trace.py)
    return LoadSettings(
        payload_path=payload,
        content_type=content_type,
        traffic=job_traffic(spec),
        threshold_ms=threshold.value_in_milliseconds if threshold else None,
        percentile=threshold.percentile if threshold else "P95",
        flat_invocations=spec.flat_invocations,
        max_invocations=spec.max_invocations,
        open_loop=replay.open_loop() if replay is not None else spec.open_loop,
        workers=int(meta.get("workers") or 0),
        log_dir=workdir,
        target_models=spec.target_models,
        seed=int(meta.get("seed") or 0),
        load_config=replay.load_config() if replay is not None else None,
        play_to_end=replay is not None,
    )


class JobRun:
    """One execution of a job (the first or a resume). Thread-safe where configs run in parallel."""

    def __init__(self, store: Store, job_id: str, *, stop_event: threading.Event | None = None,
                 server_factory: Callable[..., Any] | None = None, load_fn: Callable[..., Any] | None = None) -> None:
        from irkit.spec import JobSpec

        self.store, self.job_id = store, job_id
        self.job = store.get_job(job_id)
        self.spec = JobSpec.from_dict(self.job["spec"])
        self.meta = self.job["meta"]
        self.stop_event = stop_event or threading.Event()
        self.server_factory, self.load_fn = server_factory, load_fn
        self._active: set[threading.Event] = set()
        self._lock = threading.Lock()
        self.warnings: list[str] = []

    def request_stop(self) -> None:
        """Stop now: every running load test ends at once and its server is stopped."""
        self.stop_event.set()
        with self._lock:
            for event in self._active:
                event.set()

    def run(self) -> dict[str, Any]:
        store, job_id = self.store, self.job_id
        if store.get_job(job_id)["status"] in (states.STOPPING, states.STOPPED):
            return self._finish(stopped=True)
        store.set_status(job_id, states.IN_PROGRESS, pid=os.getpid())
        plan = planned_configs(self.spec, self.meta)
        finished = store.finished_configs(job_id)
        todo = [p for p in plan if p[0] not in finished]
        for config_id, instance_type, env in todo:
            store.upsert_config(job_id, config_id, instance_type, env, states.PENDING)
        try:
            self.settings = load_settings(self.spec, self.meta, job_dir(store, job_id))
        except Exception as exc:  # noqa: BLE001 - any input problem fails the job with its message
            for config_id, instance_type, env in todo:
                store.upsert_config(job_id, config_id, instance_type, env, states.FAILED, failure_reason=str(exc))
            return self._finish(stopped=False, failure=str(exc))
        deadline = (time.time() + self.spec.job_duration_in_seconds) if self.spec.job_duration_in_seconds else None
        parallel = max(1, min(self.spec.max_parallel_tests or 1, len(todo) or 1))
        if parallel > 1:
            cores = len(os.sched_getaffinity(0))
            self.warnings.append(f"{parallel} tests run in parallel on {cores} CPU core(s): they share CPUs "
                                 "with each other and with the load generator, so their figures interfere")
        by_id = {p[0]: p for p in plan}
        spec_configs = {c.config_id: c for c in self.spec.configurations()} if not self.meta.get("endpoint_url") else {}
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="irkit-config") as pool:
            futures = [pool.submit(self._run_one, by_id[p[0]], spec_configs.get(p[0]), deadline) for p in todo]
            for future in futures:
                future.result()
        return self._finish(stopped=self.stop_event.is_set())

    def _run_one(self, planned: tuple[str, str, dict[str, str]], config: Any, deadline: float | None) -> None:
        store, job_id = self.store, self.job_id
        config_id, instance_type, env = planned
        if self.stop_event.is_set():
            return
        if deadline is not None and time.time() >= deadline:
            store.upsert_config(job_id, config_id, instance_type, env, states.FAILED,
                                failure_reason="job_duration_in_seconds ran out before this test started")
            return
        store.delete_steps(job_id, config_id)  # a rerun after a kill starts its curve afresh
        store.upsert_config(job_id, config_id, instance_type, env, states.IN_PROGRESS)
        counter = iter(range(1_000_000))
        event = threading.Event()
        with self._lock:
            self._active.add(event)
        if self.stop_event.is_set():
            event.set()

        def on_step(step: dict[str, Any]) -> None:
            store.add_step(job_id, config_id, next(counter), step)

        settings = self.settings
        if deadline is not None:
            settings = LoadSettings(**{**settings.__dict__, "max_seconds": max(1.0, deadline - time.time())})
        try:
            if self.meta.get("endpoint_url"):
                outcome = run_endpoint(self.meta["endpoint_url"], settings, endpoint_name=self.meta.get("endpoint_name"),
                                       stop_event=event, on_step=on_step, load_fn=self.load_fn)
            else:
                outcome = run_config(config, self.meta["model_path"], settings, prices=self.spec.instance_prices,
                                     stop_event=event, on_step=on_step, server_factory=self.server_factory,
                                     load_fn=self.load_fn)
        except Exception as exc:  # noqa: BLE001 - one failed config does not end the job
            status = states.PENDING if self.stop_event.is_set() else states.FAILED
            store.upsert_config(job_id, config_id, instance_type, env, status,
                                failure_reason=STOPPED_REASON if status == states.PENDING else str(exc))
            return
        finally:
            with self._lock:
                self._active.discard(event)
        self._record(outcome)

    def _record(self, outcome: ConfigOutcome) -> None:
        store, job_id = self.store, self.job_id
        interrupted = self.stop_event.is_set() and outcome.stop_reason is None
        if interrupted:
            store.upsert_config(job_id, outcome.config_id, outcome.instance_type, outcome.environment,
                                states.PENDING, recommendation=outcome.to_dict(), failure_reason=STOPPED_REASON)
        elif outcome.max_invocations <= 0:
            store.upsert_config(job_id, outcome.config_id, outcome.instance_type, outcome.environment,
                                states.FAILED, recommendation=outcome.to_dict(),
                                failure_reason=slo_failure(outcome, self.settings))
        else:
            store.upsert_config(job_id, outcome.config_id, outcome.instance_type, outcome.environment,
                                states.COMPLETED, recommendation=outcome.to_dict())

    def _finish(self, *, stopped: bool, failure: str | None = None) -> dict[str, Any]:
        rows = self.store.configs(self.job_id)
        total = len(planned_configs(self.spec, self.meta))
        status, reason = describe.job_status(rows, total, stopped)
        if failure:
            status, reason = states.FAILED, failure
        result = build_job_result(self.store, self.job_id, status=status, failure_reason=reason,
                                  finished_at=time.time(), extra_warnings=self.warnings)
        self.store.save_result(self.job_id, result)
        return result


def build_job_result(store: Store, job_id: str, *, status: str | None = None, failure_reason: str | None = None,
                     finished_at: float | None = None, extra_warnings: list[str] | None = None) -> dict[str, Any]:
    """The Describe answer from what the store holds now (a live view while the job runs)."""
    from irkit.spec import JobSpec

    job = store.get_job(job_id)
    spec = JobSpec.from_dict(job["spec"])
    result = describe.build_result(
        job, store.configs(job_id), store.steps(job_id),
        status=status or job["status"], failure_reason=failure_reason or job["failure_reason"],
        job_type=spec.job_type, input_config=input_config(spec, job["meta"]), finished_at=finished_at,
    )
    if extra_warnings:
        result["irkit"]["warnings"] = list(extra_warnings)
    return result


def input_config(spec: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """IR's InputConfig for a local job, in the API's casing, with local paths as URLs."""
    out: dict[str, Any] = {}
    if spec.job_duration_in_seconds:
        out["JobDurationInSeconds"] = spec.job_duration_in_seconds
    pattern = traffic_request(spec)  # IR's casing, from the same table as to_request
    if pattern is not None:
        out["TrafficPattern"] = pattern
    if meta.get("endpoint_url"):
        out["Endpoints"] = [{"EndpointName": meta.get("endpoint_name") or describe.endpoint_name_for(meta["endpoint_url"])}]
    else:
        out["EndpointConfigurations"] = [{"InstanceType": t} for t in spec.instance_types()]
        out["ModelUrl"] = meta.get("model_path")
    out["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": meta.get("payload_path"),
                                                "SupportedContentTypes": list(spec.supported_content_types)}}
    return out


def slo_failure(outcome: ConfigOutcome, settings: LoadSettings) -> str:
    """Why a config has no MaxInvocations, with the first step's figures and what to change."""
    reason = f"no step within the SLO ({outcome.plateau_reason})"
    if not outcome.steps:
        return reason
    first = outcome.steps[0]
    key = f"{settings.percentile.lower()}_ms"
    if outcome.plateau_reason == "latency_threshold" and first.get(key) is not None and settings.threshold_ms:
        reason += (f": already at {first.get('users')} user(s) {settings.percentile} was {first[key]:,.0f} ms, "
                   f"over the {settings.threshold_ms:,.0f} ms threshold; raise model_latency_thresholds")
        if settings.target_models is not None:
            reason += " (cold model loads count in the percentiles of a multi-model endpoint)"
    elif first.get("requests"):
        reason += f": {first.get('errors', 0)} of {first['requests']} requests failed at {first.get('users')} user(s)"
    return reason
