"""Benchmark an EXISTING SageMaker endpoint of any kind (single model, multi-model, multi-container).

result = benchmark_endpoint("spec.yaml", "my-endpoint")          # default boto3 clients
result = benchmark_endpoint(spec, "my-mme", clients=AwsClients(sagemaker=sm), workers=2)

The endpoint is described through boto3 (instance type and count), one pre-flight invocation checks
the payload, then the spec's PHASES/STAIRS (or open loop) run in a Locust subprocess whose users call
``sagemaker-runtime`` ``invoke_endpoint`` (runtime_locustfile.py) with ``TargetModel`` /
``TargetContainerHostname`` drawn per request from ``spec.target_models`` (irkit.spec.popularity). The load
engine, plateau finder and result builder are the shared ``irkit.load`` ones (generator, drive, describe)
and the run is an ``irkit.backends.lifecycle.JobLifecycle`` as a local job's is, so the answer has the
same schema and a stopped run the same statuses: ``EndpointPerformances`` plus the ``irkit`` key
with ``backend: "sagemaker"``, the per-step curve, ``irkit.endpoint`` (what was described) and the
per-model breakdown (cold/warm fields are null: SageMaker does not say which invocation loaded a model).

Every finished step is written to the job store at once (config id ``endpoint``), so a killed run
keeps its steps; ``endpoint_benchmark_result(ref)`` rebuilds the answer from the store at any time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irkit import states
from irkit.backends.lifecycle import JobLifecycle, Planned, pid_alive
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
from irkit.load.drive import ConfigOutcome, drive_load
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


class EndpointBenchmark(JobLifecycle):
    """One benchmark of an existing endpoint: a job with one config (``endpoint``), run in this process."""

    stopped_reason = "stopped before the end (Ctrl-C or stop_event)"

    def planned_configs(self) -> list[Planned]:
        return [(CONFIG_ID, (self.meta.get("endpoint") or {}).get("instance_type") or "unknown", {})]

    def input_config(self, spec: Any, meta: dict[str, Any]) -> dict[str, Any]:
        return describe.input_config(spec, {**meta, "endpoint_url": meta.get("runtime_endpoint_url") or "aws"})

    def on_stored_step(self, config_id: str, step: dict[str, Any]) -> None:
        # a live IN_PROGRESS result too, so history (irkit.results.history.load) shows a killed run's steps
        self.store.save_result(self.job_id, self.describe())

    def decorate(self, result: dict[str, Any], job: dict[str, Any]) -> None:
        meta = job["meta"] or {}
        region = meta.get("region") or DEFAULT_REGION
        result["JobArn"] = f"arn:irkit:{region}:endpoint-benchmark/{job['job_id']}"
        extension = result["irkit"]
        extension.update({"backend": BACKEND_NAME, "model": None, "endpoint_url": meta.get("runtime_endpoint_url"),
                          "endpoint": {**(meta.get("endpoint") or {}), "price_per_hour": meta.get("price_per_hour"),
                                       "region": region}})
        extension["steps"] = sagemaker_steps(extension.get("steps") or [])
        extension["per_model"] = per_model_breakdown(extension["steps"])


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
        "seed": int(seed), "load_mode": "open" if spec.open_loop is not None else "closed",
    }
    job_id = store.create_job(spec.job_name, BACKEND_NAME, spec.to_dict(), meta=meta)
    run = EndpointBenchmark(store, job_id, stop_event=stop_event)
    (planned,) = run.plan()
    run.start()
    try:
        payload_path = _payload_file(spec, payload, run.workdir, clients)
        run.meta["payload_path"] = str(payload_path)
        store.update_meta(job_id, payload_path=str(payload_path))
        settings = run.load_settings()
        if max_seconds is not None:
            settings.max_seconds = max_seconds
        model, container = _first_target(spec)
        preflight_invoke(runtime_client(region, runtime_url), endpoint_name, payload_path.read_bytes(),
                         settings.content_type, model, container)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            run.request_stop()
            run.finish()
        else:
            run.abort(str(exc))
        raise
    extra = runtime_extra_config(spec, endpoint_name, region=region, endpoint_url=runtime_url, seed=seed)
    runtime_load = _runtime_load_fn(load_fn, extra[RUNTIME_KEY])

    def measure(stop: threading.Event, stored: Callable[[dict[str, Any]], None]) -> ConfigOutcome:
        outcome = ConfigOutcome(CONFIG_ID, description.instance_type, {}, url=runtime_url or "aws",
                                endpoint_name=endpoint_name, price_per_hour=meta["price_per_hour"] or 0.0,
                                price_is_estimate=False)

        def record_step(step: dict[str, Any]) -> None:
            stored(step)
            if on_step is not None:
                on_step(step)

        drive_load(runtime_url or f"https://runtime.sagemaker.{region}.amazonaws.com", outcome, settings,
                   stop, record_step, runtime_load, None)
        return outcome

    try:
        run.test(*planned, measure, raise_errors=True)
    except BaseException:
        run.finish()
        raise
    return run.finish()


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


def endpoint_benchmark_result(ref: str, store: Store | None = None) -> dict[str, Any]:
    """An endpoint benchmark's answer by job id/name/``latest``: final if it ended, else from its steps.

    A run whose process died (killed) is reported FAILED with the steps it finished.
    """
    store = store or Store()
    job = store.get_job(ref)
    if (job["meta"] or {}).get("kind") != BENCHMARK_KIND:
        raise BackendError(f"job {job['job_id']!r} is not an endpoint benchmark")
    if states.is_terminal(job["status"]) and job["result"] is not None:
        return dict(job["result"])
    run = EndpointBenchmark(store, job["job_id"])
    if not states.is_terminal(job["status"]) and not pid_alive(job["pid"]):
        return run.process_died(f"the benchmark process (pid {job['pid']}) ended without finishing; "
                                "its finished steps are kept")
    return run.describe()


def step_line(step: dict[str, Any]) -> str:
    """One progress line for a finished step."""
    p95 = step.get("p95_ms")
    return (f"step {step.get('step')}: {step.get('users')} users, {step.get('rps') or 0:.1f} req/s, "
            f"p95 {'-' if p95 is None else f'{p95:.0f}'} ms, {step.get('errors') or 0} errors")
