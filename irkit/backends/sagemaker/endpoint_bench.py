"""Benchmark an EXISTING SageMaker endpoint of any kind (single model, multi-model, multi-container).

result = benchmark_endpoint("spec.yaml", "my-endpoint")          # default boto3 clients
result = benchmark_endpoint(spec, "my-mme", clients=AwsClients(sagemaker=sm), workers=2)

The endpoint is described through boto3 (instance type and count), one pre-flight invocation checks
the payload, then the spec's PHASES/STAIRS (or open loop) run in a Locust subprocess whose users call
``sagemaker-runtime`` ``invoke_endpoint`` (runtime_locustfile.py) with ``TargetModel`` /
``TargetContainerHostname`` drawn per request from ``spec.target_models`` (irkit.spec.popularity). The load
runner, plateau finder and result builder are the local backend's (load.py, runner.py,
recommendation.py), so the answer has the same schema: ``EndpointPerformances`` plus the ``irkit`` key
with ``backend: "sagemaker"``, the per-step curve, ``irkit.endpoint`` (what was described) and the
per-model breakdown (cold/warm fields are null: SageMaker does not say which invocation loaded a model).

Every finished step is written to the job store at once (config id ``endpoint``), so a killed run
keeps its steps; ``endpoint_benchmark_result(ref)`` rebuilds the answer from the store at any time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irkit import states
from irkit.backends.sagemaker.clients import DEFAULT_REGION, AwsClients, default_clients
from irkit.backends.sagemaker.endpoint_info import (
    describe_endpoint,
    endpoint_price_per_hour,
    preflight_invoke,
    runtime_client,
    runtime_endpoint_url,
)
from irkit.backends.sagemaker.endpoint_models import per_model_breakdown, sagemaker_steps
from irkit.errors import BackendError, SpecError
from irkit.load import describe
from irkit.store import Store

RUNTIME_LOCUSTFILE = Path(__file__).with_name("runtime_locustfile.py")
CONFIG_ID = describe.ENDPOINT_CONFIG_ID
BENCHMARK_KIND = "endpoint_benchmark"  # meta["kind"] of these jobs in the store
BACKEND_NAME = "sagemaker"
RUNTIME_KEY = "sagemaker_runtime"  # the runtime locustfile's config section
StepCallback = Callable[[dict[str, Any]], Any]


def _payload_file(spec: Any, payload: str | os.PathLike[str] | None, workdir: Path, clients: AwsClients) -> Path:
    """The payload file to send: ``payload``, or the spec's sample_payload_url (local, file:// or s3://)."""
    from irkit.package.payload import extract_payload

    source = os.fspath(payload) if payload else spec.sample_payload_url
    if not source:
        raise SpecError("sample_payload_url", "benchmarking an endpoint needs a sample payload (or --payload)")
    if str(source).startswith("s3://"):
        if clients.s3 is None:
            raise SpecError("sample_payload_url", f"{source!r} is on S3 but no S3 client was given")
        bucket, _, key = str(source)[len("s3://"):].partition("/")
        workdir.mkdir(parents=True, exist_ok=True)
        local = workdir / (Path(key).name or "payload")
        try:
            clients.s3.download_file(bucket, key, str(local))
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f"sample_payload_url {source!r} cannot be downloaded: {exc}") from exc
        source = str(local)
    return extract_payload(source, workdir / "payload")


def _job_dir(store: Store, job_id: str) -> Path:
    path = store.path.parent / "jobs" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _first_target(spec: Any) -> tuple[str | None, str | None]:
    """The pre-flight's target: the most popular model (or container), and the first container with models."""
    targets = getattr(spec, "target_models", None)
    if targets is None:
        return None, None
    from irkit.spec.popularity import Popularity

    probabilities = Popularity.from_spec(targets).probabilities()
    favourite = max(probabilities, key=lambda name: probabilities[name])
    if targets.models:
        return favourite, (targets.containers[0] if targets.containers else None)
    return None, favourite


def benchmark_endpoint(
    spec: Any,
    endpoint_name: str,
    *,
    clients: AwsClients | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    payload: str | os.PathLike[str] | None = None,
    workers: int = 0,
    store: Store | None = None,
    on_step: StepCallback | None = None,
    stop_event: threading.Event | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
    load_fn: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Load test ``endpoint_name`` with the spec's traffic; returns the Describe-shaped result.

    ``endpoint_url``: the sagemaker-runtime URL (moto, a VPC endpoint); by default the SageMaker
    client's own URL when it is not AWS's, else AWS (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` is honoured).
    ``workers``: Locust worker processes behind a master (0: one process). Ctrl-C (or setting
    ``stop_event`` from another thread) stops the run; the job ends STOPPED with its finished steps
    (after Ctrl-C the KeyboardInterrupt is raised again).
    """
    from irkit.backends.local.job import load_settings, slo_failure
    from irkit.load.drive import ConfigOutcome, drive_load
    from irkit.spec import load_spec

    spec = load_spec(spec)
    if spec.job_name is None:
        spec = spec.with_job_name()
    clients = clients or default_clients(region)
    region = region or clients.region or DEFAULT_REGION
    store = store or Store()
    description = describe_endpoint(clients.sagemaker, endpoint_name)
    runtime_url = runtime_endpoint_url(clients.sagemaker, endpoint_url)
    meta: dict[str, Any] = {
        "kind": BENCHMARK_KIND, "endpoint_name": endpoint_name, "region": region,
        "runtime_endpoint_url": runtime_url, "endpoint": description.to_dict(),
        "price_per_hour": endpoint_price_per_hour(description, region), "workers": int(workers),
        "load_mode": "open" if spec.open_loop is not None else "closed",
    }
    job_id = store.create_job(spec.job_name, BACKEND_NAME, spec.to_dict(), meta=meta)
    store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.PENDING)
    store.set_status(job_id, states.IN_PROGRESS, pid=os.getpid())
    workdir = _job_dir(store, job_id)
    try:
        payload_path = _payload_file(spec, payload, workdir, clients)
        meta["payload_path"] = str(payload_path)
        store.update_meta(job_id, payload_path=str(payload_path))
        settings = load_settings(spec, {**meta, "payload_path": str(payload_path)}, workdir)
        settings.seed = int(seed)
        if max_seconds is not None:
            settings.max_seconds = max_seconds
        model, container = _first_target(spec)
        preflight_invoke(runtime_client(region, runtime_url), endpoint_name, payload_path.read_bytes(),
                         settings.content_type, model, container)
    except Exception as exc:
        _save(store, job_id, states.FAILED, str(exc), failed_config=True)
        raise
    extra = runtime_extra_config(spec, endpoint_name, region=region, endpoint_url=runtime_url, seed=seed)
    runtime_load = _runtime_load_fn(load_fn, extra[RUNTIME_KEY])
    outcome = ConfigOutcome(CONFIG_ID, description.instance_type, {}, url=runtime_url or "aws",
                            endpoint_name=endpoint_name, price_per_hour=meta["price_per_hour"] or 0.0,
                            price_is_estimate=False)
    counter = iter(range(1_000_000))

    def record_step(step: dict[str, Any]) -> None:
        store.add_step(job_id, CONFIG_ID, next(counter), step)
        # a live IN_PROGRESS result too, so history (irkit.results.history.load) shows a killed run's steps
        store.save_result(job_id, build_benchmark_result(store, job_id))
        if on_step is not None:
            on_step(step)

    store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.IN_PROGRESS)
    stop_event = stop_event or threading.Event()
    try:
        drive_load(runtime_url or f"https://runtime.sagemaker.{region}.amazonaws.com", outcome, settings,
                   stop_event, record_step, runtime_load, None)
    except KeyboardInterrupt:
        store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.STOPPED,
                            recommendation=outcome.to_dict(), failure_reason="stopped (Ctrl-C)")
        _save(store, job_id, states.STOPPED, None)
        raise
    except Exception as exc:
        _save(store, job_id, states.FAILED, str(exc), failed_config=True)
        raise
    if stop_event.is_set() and outcome.stop_reason is None:  # stopped from outside, not at a plateau
        store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.STOPPED,
                            recommendation=outcome.to_dict(), failure_reason="stopped (stop_event)")
        return _save(store, job_id, states.STOPPED, None)
    if outcome.max_invocations > 0:
        store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.COMPLETED,
                            recommendation=outcome.to_dict())
        return _save(store, job_id, states.COMPLETED, None)
    reason = slo_failure(outcome, settings)
    store.upsert_config(job_id, CONFIG_ID, description.instance_type, {}, states.FAILED,
                        recommendation=outcome.to_dict(), failure_reason=reason)
    return _save(store, job_id, states.FAILED, reason)


def runtime_extra_config(spec: Any, endpoint_name: str, *, region: str = DEFAULT_REGION,
                         endpoint_url: str | None = None, seed: int = 0) -> dict[str, Any]:
    """The runtime locustfile's keys, for ``load.write_config(..., extra=)`` (a master started by hand).

    ``{"sagemaker_runtime": {endpoint_name, region, endpoint_url, accept, seed, target_models}}``.
    """
    from irkit.spec import load_spec

    target_models = load_spec(spec).to_dict().get("target_models")
    return {RUNTIME_KEY: {"endpoint_name": endpoint_name, "region": region, "endpoint_url": endpoint_url,
                          "accept": "application/json", "seed": int(seed), "target_models": target_models}}


def _runtime_load_fn(load_fn: Callable[..., Any] | None, runtime_config: dict[str, Any]) -> Callable[..., Any]:
    """run_load with the runtime locustfile, its config merged into whatever extra config the runner adds."""
    from irkit.load.generator import run_load

    base = load_fn or run_load

    def runtime_load(*args: Any, extra_config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        merged = {**(extra_config or {}), RUNTIME_KEY: runtime_config}
        return base(*args, locustfile=RUNTIME_LOCUSTFILE, extra_config=merged, **kwargs)

    return runtime_load


def _save(store: Store, job_id: str, status: str, reason: str | None, failed_config: bool = False) -> dict[str, Any]:
    if failed_config:
        row = next((c for c in store.configs(job_id) if c["config_id"] == CONFIG_ID), None)
        store.upsert_config(job_id, CONFIG_ID, row["instance_type"] if row else "unknown", {}, status,
                            failure_reason=reason)
    result = build_benchmark_result(store, job_id, status=status, failure_reason=reason, finished_at=time.time())
    store.save_result(job_id, result)
    store.set_status(job_id, status, reason)
    return result


def build_benchmark_result(store: Store, job_id: str, *, status: str | None = None,
                           failure_reason: str | None = None, finished_at: float | None = None) -> dict[str, Any]:
    """The Describe-shaped answer of an endpoint benchmark from what the store holds now."""
    from irkit.backends.local.job import input_config
    from irkit.spec import JobSpec

    job = store.get_job(job_id)
    spec = JobSpec.from_dict(job["spec"])
    meta = job["meta"] or {}
    steps = store.steps(job_id)
    result = describe.build_result(
        job, store.configs(job_id), steps, status=status or job["status"],
        failure_reason=failure_reason or job["failure_reason"], job_type=spec.job_type,
        input_config=input_config(spec, {**meta, "endpoint_url": meta.get("runtime_endpoint_url") or "aws"}),
        finished_at=finished_at,
    )
    region = meta.get("region") or DEFAULT_REGION
    result["JobArn"] = f"arn:irkit:{region}:endpoint-benchmark/{job_id}"
    extension = result["irkit"]
    extension.update({"backend": BACKEND_NAME, "model": None, "endpoint_url": meta.get("runtime_endpoint_url"),
                      "endpoint": {**(meta.get("endpoint") or {}), "price_per_hour": meta.get("price_per_hour"),
                                   "region": region}})
    extension["steps"] = sagemaker_steps(extension.get("steps") or [])
    extension["per_model"] = per_model_breakdown(extension["steps"])
    return result


def endpoint_benchmark_result(ref: str, store: Store | None = None) -> dict[str, Any]:
    """An endpoint benchmark's answer by job id/name/``latest``: final if it ended, else from its steps.

    A run whose process died (killed) is reported FAILED with the steps it finished.
    """
    from irkit.backends.local.backend import pid_alive

    store = store or Store()
    job = store.get_job(ref)
    if (job["meta"] or {}).get("kind") != BENCHMARK_KIND:
        raise BackendError(f"job {job['job_id']!r} is not an endpoint benchmark")
    if states.is_terminal(job["status"]) and job["result"] is not None:
        return dict(job["result"])
    if not states.is_terminal(job["status"]) and not pid_alive(job["pid"]):
        reason = f"the benchmark process (pid {job['pid']}) ended without finishing; its finished steps are kept"
        return _save(store, job["job_id"], states.FAILED, reason, failed_config=True)
    return build_benchmark_result(store, job["job_id"])


def step_line(step: dict[str, Any]) -> str:
    """One progress line for a finished step."""
    p95 = step.get("p95_ms")
    return (f"step {step.get('step')}: {step.get('users')} users, {step.get('rps') or 0:.1f} req/s, "
            f"p95 {'-' if p95 is None else f'{p95:.0f}'} ms, {step.get('errors') or 0} errors")
