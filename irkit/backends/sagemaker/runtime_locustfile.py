"""Locust users that call a SageMaker endpoint through ``sagemaker-runtime`` ``invoke_endpoint`` (boto3).

Run only by ``locust -f runtime_locustfile.py`` in a subprocess (``load.run_load(...,
locustfile=RUNTIME_LOCUSTFILE, extra_config={"sagemaker_runtime": {...}})``), never imported by irkit.
Locust is imported FIRST: it monkey-patches the process with gevent, and importing it after boto3 or
urllib3 crashes (RecursionError in ssl).

Everything but the request itself comes from ``irkit.load.locust_timeline`` (the Locust side both
locustfiles share): the step timeline, the PHASES/STAIRS ``TrafficShape``, the per-step
HdrHistograms fed by Locust's ``request`` event, the worker -> master merge, the open-loop arrivals
and the JSON-lines steps file ``run_load`` tails. The users here only time ``invoke_endpoint`` and
fire the ``request`` event with the exact latency (``time.perf_counter``, no retries: botocore's
retries would hide throttling and add their back-off to the latency).

Config keys (under ``sagemaker_runtime`` in ``$IRKIT_LOAD_CONFIG``): ``endpoint_name``, ``region``,
``endpoint_url`` (moto or a VPC endpoint; None = AWS), ``accept``, ``target_models`` (the spec's
``target_models`` mapping, sampled per request with ``irkit.spec.popularity``), ``seed``.
"""

from __future__ import annotations

# ruff: noqa: I001, E402  # the import order is the point: locust before anything that loads urllib3
import locust  # noqa: F401  # first: gevent's monkey-patching must precede boto3/urllib3
from locust import User, constant, events, task

import time
from typing import Any

import gevent.lock

from irkit.load.locust_timeline import (  # noqa: F401  # TrafficShape: Locust picks the shape up here
    CONTEXT_CONTAINER,
    CONTEXT_MODEL,
    CONTEXT_SCHEDULED,
    TIMELINE,
    TrafficShape,
    run_arrivals,
    seed_offset,
    target_sampler,
    wait_for_config,
)

import boto3  # after locust, on purpose
from botocore.config import Config

RUNTIME_KEY = "sagemaker_runtime"
MAX_POOL_CONNECTIONS = 1000  # one boto3 client per process, shared by all its users
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 70.0  # SageMaker answers within 60 s or fails the invocation
REQUEST_TYPE = "invoke_endpoint"


class RuntimeInvoker:
    """This process's boto3 ``sagemaker-runtime`` client and target sampler, built once from the config."""

    def __init__(self, config: dict[str, Any], seed_offset: int = 0) -> None:
        runtime = dict(config.get(RUNTIME_KEY) or {})
        self.endpoint_name: str = runtime["endpoint_name"]
        self.content_type: str = config["content_type"]
        self.accept: str = runtime.get("accept") or "application/json"
        self.payload: bytes = TIMELINE.payload
        botocore_config = Config(retries={"max_attempts": 1, "mode": "standard"},
                                 max_pool_connections=MAX_POOL_CONNECTIONS,
                                 connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S)
        self.client = boto3.session.Session().client(
            "sagemaker-runtime", region_name=runtime.get("region"), endpoint_url=runtime.get("endpoint_url"),
            config=botocore_config)
        self.pick = target_sampler(runtime.get("target_models"), int(runtime.get("seed") or 0) + seed_offset)

    def invoke(self, scheduled: float | None = None) -> None:
        """One ``invoke_endpoint`` call, timed and reported through Locust's ``request`` event."""
        model, container = self.pick()
        kwargs: dict[str, Any] = {"EndpointName": self.endpoint_name, "Body": self.payload,
                                  "ContentType": self.content_type, "Accept": self.accept}
        if model:
            kwargs["TargetModel"] = model
        if container:
            kwargs["TargetContainerHostname"] = container
        context: dict[str, Any] = {CONTEXT_MODEL: model, CONTEXT_CONTAINER: container}
        if scheduled is not None:
            context[CONTEXT_SCHEDULED] = scheduled
        response: Any = None
        exception: BaseException | None = None
        length = 0
        started = time.perf_counter()
        try:
            response = self.client.invoke_endpoint(**kwargs)
            length = len(response["Body"].read())
        except Exception as exc:  # noqa: BLE001 - every failure is a failed request, never a crash
            exception = exc
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        events.request.fire(request_type=REQUEST_TYPE, name=model or container or self.endpoint_name,
                            response_time=elapsed_ms, response_length=length, response=response,
                            context=context, exception=exception)


_INVOKER: RuntimeInvoker | None = None
_INVOKER_LOCK = gevent.lock.Semaphore()  # client creation may yield (credentials over HTTP): build it once


def invoker(environment: Any) -> RuntimeInvoker:
    """The process's invoker; each Locust process (and worker) gets its own seed offset."""
    global _INVOKER
    if _INVOKER is not None:
        return _INVOKER
    with _INVOKER_LOCK:
        if _INVOKER is not None:
            return _INVOKER
        assert TIMELINE.config is not None
        _INVOKER = RuntimeInvoker(TIMELINE.config, seed_offset=seed_offset(environment))
    return _INVOKER


class ClosedLoopUser(User):
    """One of IR's users: invokes the endpoint back to back, with no wait in between."""

    wait_time = constant(0)

    @task
    def invoke(self) -> None:
        if wait_for_config():
            invoker(self.environment).invoke()


class OpenLoopUser(User):
    """A Poisson source over invoke_endpoint: the shared open-loop schedule, latency from send time."""

    wait_time = constant(0)

    @task
    def arrivals(self) -> None:
        run_arrivals(lambda scheduled: invoker(self.environment).invoke(scheduled=scheduled), self.environment)
