"""The Locust side of ``run_load`` over HTTP: run only by ``locust -f`` in a subprocess, never imported by irkit.

The users here only send the request; the step timeline, the PHASES/STAIRS shape, the per-step
tallies, the worker -> master merge, the open-loop arrivals and the JSON-lines steps file come from
``irkit.load.locust_timeline`` (shared with ``backends/sagemaker/runtime_locustfile.py``).

Multi-model load (config key ``target_models``, the spec's file form, and ``seed``): each request
goes to a target drawn from ``irkit.spec.popularity`` (seeded; each worker offsets the seed by its
client id) with SageMaker's routing headers, and is also filed per target, cold or warm by the
server's ``X-Irkit-Model-*`` headers (model_tally.py); the STEP then carries ``per_model``.

User classes (chosen on the command line): ``ClosedLoopUser`` sends back to back (IR's users);
``OpenLoopUser`` (one per generator process) sends at Poisson arrival times and counts latency
from the scheduled send time, as MLPerf LoadGen's Server scenario does.
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, constant, task

from irkit.load.locust_timeline import (  # noqa: F401  # TrafficShape: Locust picks the shape up here
    CONTEXT_CONTAINER,
    CONTEXT_MODEL,
    CONTEXT_SCHEDULED,
    OPEN_LOOP_MAX_IN_FLIGHT,
    TIMELINE,
    TrafficShape,
    run_arrivals,
    wait_for_config,
)
from irkit.load.model_tally import target_headers


def _target_request(environment: Any, context: dict[str, Any]) -> dict[str, str]:
    """The request's headers; with target_models, also a drawn target's routing headers and context."""
    assert TIMELINE.config is not None
    headers = {"Content-Type": TIMELINE.config["content_type"], "Accept": "application/json"}
    headers.update(TIMELINE.config.get("headers") or {})
    pick = TIMELINE.target_picker(environment)
    if pick is not None:
        model, container = pick()
        headers.update(target_headers(model, container))
        context[CONTEXT_MODEL], context[CONTEXT_CONTAINER] = model, container
    return headers


def _post(user: FastHttpUser, context: dict[str, Any]) -> None:
    assert TIMELINE.config is not None
    headers = _target_request(user.environment, context)
    user.client.post(TIMELINE.config["path"], data=TIMELINE.payload,  # type: ignore[arg-type]  # bytes work
                     headers=headers, name="invocations", context=context)


class ClosedLoopUser(FastHttpUser):
    """One of IR's users: sends the payload back to back, with no wait in between."""

    wait_time = constant(0)

    @task
    def invoke(self) -> None:
        if wait_for_config():
            _post(self, {})


class OpenLoopUser(FastHttpUser):
    """A Poisson source: each generator process sends 1/N of every window's rate at scheduled times."""

    wait_time = constant(0)
    concurrency = OPEN_LOOP_MAX_IN_FLIGHT

    @task
    def arrivals(self) -> None:
        run_arrivals(lambda scheduled: _post(self, {CONTEXT_SCHEDULED: scheduled}), self.environment)
