"""Real end-to-end local jobs on 127.0.0.1: the tiny model served by ServerProcess, real Locust,
short stairs. Also a SIGKILL mid-load (real server and Locust orphaned) then a resume, with no
process left behind."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from irkit import states
from irkit.backends.local.backend import LocalBackend, job_marker, job_processes, pid_alive

pytestmark = pytest.mark.slow

STAIRS = {"duration_in_seconds": 2, "number_of_steps": 3, "users_per_step": 1}


@pytest.fixture
def tarballs(tiny_model_tarball, resnet_payload_tarball):
    return tiny_model_tarball, resnet_payload_tarball


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_short_local_job_end_to_end(tarballs):
    model, payload = tarballs
    before = descendants()
    backend = LocalBackend()
    spec = {"job_name": "e2e", "supported_instance_types": ["local.cpu1"], "stairs": STAIRS,
            "supported_content_types": ["application/json"]}
    handle = backend.submit(spec, model=model, payload=payload)
    result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=240)
    assert result["Status"] == states.COMPLETED, result.get("FailureReason")
    (rec,) = result["InferenceRecommendations"]
    metrics = rec["Metrics"]
    assert metrics["MaxInvocations"] > 0 and metrics["ModelLatency"] > 0
    assert metrics["ModelSetupTime"] > 0
    assert metrics["CostPerInference"] == pytest.approx(metrics["CostPerHour"] / (metrics["MaxInvocations"] * 60))
    steps = result["irkit"]["steps"]
    assert 1 <= len(steps) <= 3 and all(s["requests"] > 0 for s in steps)
    assert [s["users"] for s in steps] == [1, 2, 3][: len(steps)]
    plateau = steps[result["irkit"]["configs"][0]["plateau_step"]]
    assert metrics["ModelLatency"] == round(plateau["p95_ms"])
    assert not job_processes(job_marker(backend.store, handle.job_id))
    assert descendants() <= before


def test_existing_endpoint_is_benchmarked_without_starting_a_server(tarballs):
    from irkit.serve.process import ServerProcess

    model, payload = tarballs
    server = ServerProcess(model, port=0)
    server.start()
    try:
        backend = LocalBackend()
        spec = {"job_name": "ep-e2e", "supported_instance_types": ["local.cpu1"], "stairs": STAIRS}
        handle = backend.submit(spec, payload=payload, endpoint_url=server.url)
        result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=180)
    finally:
        server.stop()
    (perf,) = result["EndpointPerformances"]
    assert perf["Metrics"]["MaxInvocations"] > 0 and perf["Metrics"]["ModelLatency"] > 0
    assert result["InferenceRecommendations"] == []


def test_sigkill_mid_load_then_resume_leaves_no_orphans(tarballs):
    model, payload = tarballs
    backend = LocalBackend()
    store = backend.store
    spec = {"job_name": "kill-e2e", "stairs": {**STAIRS, "number_of_steps": 2},
            "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2"]}]}
    handle = backend.submit(spec, model=model, payload=payload)
    marker = job_marker(store, handle.job_id)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # first config done, second one under load
        configs = store.configs(handle.job_id)
        if store.finished_configs(handle.job_id) and any(c["status"] == states.IN_PROGRESS for c in configs) \
                and len(job_processes(marker)) >= 3:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"job never reached its second config: {store.configs(handle.job_id)}")
    finished = store.finished_configs(handle.job_id)
    os.kill(handle.extra["pid"], signal.SIGKILL)
    end = time.monotonic() + 10
    while pid_alive(handle.extra["pid"]) and time.monotonic() < end:
        time.sleep(0.1)
    assert backend.status(handle).status == states.FAILED  # noticed, and the orphans reaped
    assert not job_processes(marker)
    resumed = backend.resume(handle.job_id)
    result = backend.wait(resumed, progress=False, poll_s=0.5, timeout_s=180)
    assert result["Status"] == states.COMPLETED
    assert len(result["InferenceRecommendations"]) == 2
    rerun = {c["config_id"] for c in store.configs(handle.job_id)} - finished
    assert len(rerun) == 1 and len(finished) == 1
    assert not job_processes(marker)
