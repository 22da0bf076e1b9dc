"""One run of a job, for both backends: its folder, its configs' step loops, their statuses, its result.

A local job (``backends/local/job.JobRun``, in the job's background process) and a SageMaker endpoint
benchmark (``backends/sagemaker/endpoint_bench``) are both runs of a job recorded in the store, and
``JobLifecycle`` is what they share:

- ``workdir``: the job's folder next to the store (logs, the extracted payload);
- ``load_settings()``: the spec's traffic and stopping rules as ``irkit.load.drive.LoadSettings``;
- ``plan()``: a PENDING row for each config still to run (a resume skips COMPLETED and FAILED ones);
- ``test(config_id, instance_type, env, run)``: one config's step loop. Its old steps go, each new
  step is stored as it ends, and its end is recorded with THE outcome -> status mapping
  (``config_status``, ``error_status``). A ``ProcessDiedError`` (a server or Locust process killed
  from outside) stops the whole job: it ends FAILED saying which process died and how to resume;
- ``request_stop()``: every running config stops at once (each runs under its own ``ConfigStop``,
  which is also set when the job's ``stop_event`` is);
- ``finish()``: the job's status from its configs (``describe.job_status``) and the Describe-shaped
  result saved to the store; ``abort(reason)`` fails what is left; ``process_died(reason)`` records a
  run whose process was killed.

A subclass says which configs a job has (``planned_configs``) and what its result adds
(``input_config``, ``decorate``). Imports no backend.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irkit import states
from irkit.errors import ProcessDiedError
from irkit.load import describe
from irkit.load.drive import ConfigOutcome, LoadSettings
from irkit.store import Store

StepCallback = Callable[[dict[str, Any]], None]
Planned = tuple[str, str, dict[str, str]]  # (config_id, instance_type, environment)
# A config a resume does not run again; every other status (PENDING, IN_PROGRESS, STOPPED) it reruns.
DONE = frozenset({states.COMPLETED, states.FAILED})
STOPPED_REASON = "stopped before the end"


def job_dir(store: Store, job_id: str) -> Path:
    """Where a job keeps its log and extracted payload: next to the store's file."""
    path = store.path.parent / "jobs" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_alive(pid: int | None) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    if not pid:
        return False
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def load_settings(spec: Any, meta: dict[str, Any], workdir: Path) -> LoadSettings:
    """The job's load test settings: its payload (extracted into ``workdir``), traffic and stopping rules."""
    from irkit.package.payload import extract_payload, guess_content_type
    from irkit.spec.traffic import job_traffic

    payload = extract_payload(meta["payload_path"], workdir / "payload")
    content_type = (spec.supported_content_types[0] if spec.supported_content_types
                    else guess_content_type(payload))
    threshold = spec.latency_threshold
    replay = spec.trace.plan() if spec.trace is not None else None  # traffic_type TRACE (spec/trace.py)
    return LoadSettings(
        payload_path=payload,
        content_type=content_type,
        traffic=job_traffic(spec),  # None (and no open_loop): the knee search
        knee_search=spec.knee_search,
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


def config_status(outcome: ConfigOutcome, settings: LoadSettings, *, stopped: bool,
                  stopped_reason: str = STOPPED_REASON) -> tuple[str, str | None]:
    """A finished config's (status, failure reason): THE mapping both backends use.

    STOPPED when the job was stopped before the config reached its plateau (a resume reruns it),
    FAILED when no step was within the SLO, else COMPLETED.
    """
    if stopped and outcome.stop_reason is None:
        return states.STOPPED, stopped_reason
    if outcome.max_invocations <= 0:
        return states.FAILED, slo_failure(outcome, settings)
    return states.COMPLETED, None


def error_status(exc: BaseException, *, stopped: bool, stopped_reason: str = STOPPED_REASON) -> tuple[str, str]:
    """A config that raised: STOPPED when the job was being stopped (or on Ctrl-C), else FAILED with the error."""
    if stopped or isinstance(exc, KeyboardInterrupt):
        return states.STOPPED, stopped_reason
    return states.FAILED, str(exc) or type(exc).__name__


class ConfigStop(threading.Event):
    """One config's stop: set on its own (its plateau was found) or through the job's stop event."""

    def __init__(self, job_stop: threading.Event) -> None:
        super().__init__()
        self.job_stop = job_stop

    def is_set(self) -> bool:
        return super().is_set() or self.job_stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.05 if end is None else min(0.05, end - time.monotonic())
            if left <= 0:
                return False
            super().wait(left)
        return True


class JobLifecycle:
    """One execution of a job in the store (the first or a resume). Thread-safe where configs run in parallel."""

    stopped_reason = STOPPED_REASON
    resume_hint: str | None = None  # how to continue the job after a fault, with {job_id}

    def __init__(self, store: Store, job_id: str, *, stop_event: threading.Event | None = None) -> None:
        from irkit.spec import JobSpec

        self.store, self.job_id = store, job_id
        self.job = store.get_job(job_id)
        self.spec = JobSpec.from_dict(self.job["spec"])
        self.meta: dict[str, Any] = dict(self.job["meta"] or {})
        self.stop_event = stop_event or threading.Event()
        self.settings: LoadSettings | None = None
        self.warnings: list[str] = []
        self.fault: str | None = None  # a process of the job died during a test (ProcessDiedError)
        self._lock = threading.Lock()

    # ---- what a subclass says ------------------------------------------------------------------
    def planned_configs(self) -> list[Planned]:
        """Every config of the job, in run order."""
        raise NotImplementedError

    def input_config(self, spec: Any, meta: dict[str, Any]) -> dict[str, Any]:
        """The result's InputConfig."""
        return describe.input_config(spec, meta)

    def decorate(self, result: dict[str, Any], job: dict[str, Any]) -> None:
        """Add what this kind of job reports besides the common Describe shape (in place)."""

    def on_stored_step(self, config_id: str, step: dict[str, Any]) -> None:
        """Called after each step is stored."""

    # ---- the run ---------------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        return job_dir(self.store, self.job_id)

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def start(self) -> None:
        self.store.set_status(self.job_id, states.IN_PROGRESS, pid=os.getpid())

    def load_settings(self) -> LoadSettings:
        self.settings = load_settings(self.spec, self.meta, self.workdir)
        return self.settings

    def plan(self) -> list[Planned]:
        """The configs still to run, each recorded PENDING; COMPLETED and FAILED ones are kept as they are."""
        done = {c["config_id"] for c in self.store.configs(self.job_id) if c["status"] in DONE}
        todo = [p for p in self.planned_configs() if p[0] not in done]
        for config_id, instance_type, env in todo:
            self.store.upsert_config(self.job_id, config_id, instance_type, env, states.PENDING)
        return todo

    def request_stop(self) -> None:
        """Stop now: every running load test ends at once."""
        self.stop_event.set()

    def test(self, config_id: str, instance_type: str, env: dict[str, str],
             run: Callable[[threading.Event, StepCallback], ConfigOutcome], *,
             raise_errors: bool = False) -> ConfigOutcome | None:
        """Run one config: ``run(stop_event, on_step) -> ConfigOutcome``, its steps stored as they end.

        The config's status comes from ``config_status`` (or ``error_status`` when ``run`` raises; the
        error is re-raised with ``raise_errors``, and Ctrl-C always is).
        """
        assert self.settings is not None, "load_settings() comes before test()"
        store, job_id = self.store, self.job_id
        store.delete_steps(job_id, config_id)  # a rerun after a kill starts its curve afresh
        store.upsert_config(job_id, config_id, instance_type, env, states.IN_PROGRESS)
        counter = iter(range(1_000_000))

        def on_step(step: dict[str, Any]) -> None:
            store.add_step(job_id, config_id, next(counter), step)
            self.on_stored_step(config_id, step)

        reason: str | None
        try:
            outcome = run(ConfigStop(self.stop_event), on_step)
        except ProcessDiedError as exc:  # killed from outside: the whole job stops; a resume reruns this
            with self._lock:
                self.fault = self.fault or str(exc)
            self.request_stop()
            store.upsert_config(job_id, config_id, instance_type, env, states.STOPPED, failure_reason=str(exc))
            if raise_errors:
                raise
            return None
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                self.request_stop()
            status, reason = error_status(exc, stopped=self.stopped, stopped_reason=self.stopped_reason)
            store.upsert_config(job_id, config_id, instance_type, env, status, failure_reason=reason)
            if raise_errors or not isinstance(exc, Exception):
                raise
            return None
        status, reason = config_status(outcome, self.settings, stopped=self.stopped,
                                       stopped_reason=self.stopped_reason)
        store.upsert_config(job_id, outcome.config_id, outcome.instance_type, outcome.environment, status,
                            recommendation=outcome.to_dict(), failure_reason=reason)
        return outcome

    def fail(self, planned: list[Planned], reason: str) -> None:
        for config_id, instance_type, env in planned:
            self.store.upsert_config(self.job_id, config_id, instance_type, env, states.FAILED, failure_reason=reason)

    def finish(self, *, failure: str | None = None) -> dict[str, Any]:
        """End the run: the job's status from its configs (FAILED with ``failure``), the result saved."""
        if self.stopped:  # what never started will not run now either; a resume reruns it
            for row in self.store.configs(self.job_id):
                if row["status"] == states.PENDING:
                    self.store.upsert_config(self.job_id, row["config_id"], row["instance_type"], row["env"] or {},
                                             states.STOPPED, failure_reason=self.stopped_reason)
        status, reason = describe.job_status(self.store.configs(self.job_id), len(self.planned_configs()),
                                             self.stopped)
        if self.fault and not failure:
            failure = self.fault + (f"; {self.resume_hint.format(job_id=self.job_id)}" if self.resume_hint else "")
        if failure:
            status, reason = states.FAILED, failure
        result = self.describe(status=status, failure_reason=reason, finished_at=time.time())
        self.store.save_result(self.job_id, result)
        return result

    def abort(self, reason: str) -> dict[str, Any]:
        """The job cannot run (bad input, an endpoint that does not answer): what is left FAILED, and the job."""
        self.fail(self.plan(), reason)
        return self.finish(failure=reason)

    def process_died(self, reason: str) -> dict[str, Any]:
        """The job's process ended without finishing (killed): FAILED with ``reason`` (STOPPED if it was
        stopping). Finished steps and configs are kept; unfinished configs stay as they are."""
        stopping = self.store.get_job(self.job_id)["status"] == states.STOPPING
        status = states.STOPPED if stopping else states.FAILED
        result = self.describe(status=status, failure_reason=None if stopping else reason, finished_at=time.time())
        self.store.save_result(self.job_id, result)
        return result

    def describe(self, *, status: str | None = None, failure_reason: str | None = None,
                 finished_at: float | None = None) -> dict[str, Any]:
        """The Describe answer from what the store holds now (a live view while the job runs)."""
        job = self.store.get_job(self.job_id)
        result = describe.build_result(
            job, self.store.configs(self.job_id), self.store.steps(self.job_id),
            status=status or job["status"], failure_reason=failure_reason or job["failure_reason"],
            job_type=self.spec.job_type, input_config=self.input_config(self.spec, job["meta"] or {}),
            finished_at=finished_at,
        )
        if self.warnings:
            result["irkit"]["warnings"] = list(self.warnings)
        self.decorate(result, job)
        return result
