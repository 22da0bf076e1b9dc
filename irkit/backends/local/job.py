"""Run one local job to its end inside the background job process, writing everything to the store.

``JobRun(store, job_id).run()`` reads the spec and inputs the job was submitted with, tests each
configuration not yet finished (so a resumed job skips those), writes each step and each config
as soon as it is done, and saves the Describe-shaped result. ``request_stop()`` (the job process
calls it on SIGTERM/SIGINT) ends the running load tests early; unfinished configs end STOPPED and a
resume runs them again. The job dir, the step loop and the outcome -> status mapping are
``irkit.backends.lifecycle.JobLifecycle``'s, shared with the SageMaker endpoint benchmark.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from irkit import states
from irkit.backends.lifecycle import JobLifecycle, Planned
from irkit.backends.local.runner import run_config, run_endpoint
from irkit.load import describe
from irkit.load.drive import ConfigOutcome, LoadSettings
from irkit.store import Store

STOPPED_REASON = "stopped before the end; a resume runs it again"


def planned_configs(spec: Any, meta: dict[str, Any]) -> list[Planned]:
    """(config_id, instance_type, env) in run order, honouring ``max_tests``; one row for an endpoint."""
    if meta.get("endpoint_url"):
        return [(describe.ENDPOINT_CONFIG_ID, "endpoint", {})]
    configs = spec.configurations()
    if spec.max_tests:
        configs = configs[: spec.max_tests]
    return [(c.config_id, c.instance_type, dict(c.environment)) for c in configs]


class JobRun(JobLifecycle):
    """One execution of a local job (the first or a resume); configs may run in parallel."""

    stopped_reason = STOPPED_REASON
    resume_hint = "`irkit recommend --resume {job_id}` continues the job"

    def __init__(self, store: Store, job_id: str, *, stop_event: threading.Event | None = None,
                 server_factory: Callable[..., Any] | None = None, load_fn: Callable[..., Any] | None = None) -> None:
        super().__init__(store, job_id, stop_event=stop_event)
        self.server_factory, self.load_fn = server_factory, load_fn

    def planned_configs(self) -> list[Planned]:
        return planned_configs(self.spec, self.meta)

    def run(self) -> dict[str, Any]:
        if self.store.get_job(self.job_id)["status"] in (states.STOPPING, states.STOPPED):
            self.request_stop()
            return self.finish()
        self.start()
        todo = self.plan()
        try:
            self.load_settings()
        except Exception as exc:  # noqa: BLE001 - any input problem fails the job with its message
            self.fail(todo, str(exc))
            return self.finish(failure=str(exc))
        deadline = (time.time() + self.spec.job_duration_in_seconds) if self.spec.job_duration_in_seconds else None
        parallel = max(1, min(self.spec.max_parallel_tests or 1, len(todo) or 1))
        if parallel > 1:
            cores = len(os.sched_getaffinity(0))
            self.warnings.append(f"{parallel} tests run in parallel on {cores} CPU core(s): they share CPUs "
                                 "with each other and with the load generator, so their figures interfere")
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="irkit-config") as pool:
            for future in [pool.submit(self._run_one, planned, deadline) for planned in todo]:
                future.result()
        return self.finish()

    def _run_one(self, planned: Planned, deadline: float | None) -> None:
        config_id, instance_type, env = planned
        if self.stopped:
            return
        if deadline is not None and time.time() >= deadline:
            self.fail([planned], "job_duration_in_seconds ran out before this test started")
            return
        assert self.settings is not None
        settings = self.settings
        if deadline is not None:
            settings = dataclasses.replace(settings, max_seconds=max(1.0, deadline - time.time()))
        self.test(config_id, instance_type, env, lambda stop, on_step: self._test_config(config_id, settings,
                                                                                          stop, on_step))

    def _test_config(self, config_id: str, settings: LoadSettings, stop_event: threading.Event,
                     on_step: Callable[[dict[str, Any]], None]) -> ConfigOutcome:
        if self.meta.get("endpoint_url"):
            return run_endpoint(self.meta["endpoint_url"], settings, endpoint_name=self.meta.get("endpoint_name"),
                                stop_event=stop_event, on_step=on_step, load_fn=self.load_fn)
        config = next(c for c in self.spec.configurations() if c.config_id == config_id)
        return run_config(config, self.meta["model_path"], settings, prices=self.spec.instance_prices,
                          stop_event=stop_event, on_step=on_step, server_factory=self.server_factory,
                          load_fn=self.load_fn)


def build_job_result(store: Store, job_id: str, *, status: str | None = None, failure_reason: str | None = None,
                     finished_at: float | None = None) -> dict[str, Any]:
    """The Describe answer from what the store holds now (a live view while the job runs)."""
    return JobRun(store, job_id).describe(status=status, failure_reason=failure_reason, finished_at=finished_at)
