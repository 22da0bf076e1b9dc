"""A real knee-search job end to end: a spec with no traffic, `LocalBackend` in its background job
process, real Locust steered through its control file, against a server of known capacity
(irkit.serve.capacity, 2 slots x 50 ms = 40 req/s) on 127.0.0.1. Bounded: about half a minute."""

from __future__ import annotations

import json

import psutil
import pytest

from irkit import states
from irkit.backends.local.backend import LocalBackend, job_marker, job_processes
from irkit.serve.capacity import CapacityServer

pytestmark = pytest.mark.slow


def test_a_spec_without_traffic_runs_a_knee_search_job(tmp_path):
    payload = tmp_path / "sample.json"
    payload.write_text(json.dumps([[0.5]]))
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    spec = {"job_name": "knee-e2e", "supported_instance_types": ["local.cpu1"],
            "supported_content_types": ["application/json"],
            "knee_search": {"max_users": 16, "window_seconds": 1, "min_requests": 10, "max_level_seconds": 6}}
    backend = LocalBackend()
    with CapacityServer(slots=2, service_ms=50) as server:
        handle = backend.submit(spec, payload=payload, endpoint_url=server.url)
        result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=180)
        capacity = server.capacity_rps * 60
    assert result["Status"] == states.COMPLETED, result.get("FailureReason")
    (perf,) = result["EndpointPerformances"]
    assert perf["Metrics"]["MaxInvocations"] == pytest.approx(capacity, rel=0.1)
    (config,) = result["irkit"]["configs"]
    assert config["knee"]["reason"] == "levelled" and config["knee"]["users"] in (2, 3)
    lo, hi = config["max_invocations_ci"]
    assert lo <= perf["Metrics"]["MaxInvocations"] <= hi
    assert isinstance(config["stable"], bool)
    generator = config["generator"]
    assert generator["cpu_percent"] is not None and generator["shares_server_cores"] is None  # not our server
    steps = result["irkit"]["steps"]
    assert [s["users"] for s in steps][:3] == [1, 2, 4]
    assert all(len(s["windows"]) >= 3 and isinstance(s["stable"], bool) for s in steps)
    knee_step = steps[config["plateau_step"]]
    assert perf["Metrics"]["ModelLatency"] == round(knee_step["p95_ms"])
    assert perf["Metrics"]["ModelLatency"] < 2.5 * server.service_ms  # at the knee, not where 4 users queue
    assert "TrafficPattern" not in result["InputConfig"]
    assert not job_processes(job_marker(backend.store, handle.job_id))
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
