"""The job lifecycle with a real background process (fake server and load plugged in): submit,
status, wait, stop, SIGKILL then resume, and no processes left behind."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from irkit import states
from irkit.backends.local.backend import LocalBackend, job_marker, job_processes, pid_alive
from irkit.store import Store

SPEC = {
    "job_name": "life",
    "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2", "3"]}],
    "stairs": {"duration_in_seconds": 1, "number_of_steps": 5, "users_per_step": 1},
}


def wait_for(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_submit_returns_at_once_and_wait_gives_the_result(plugged):
    backend = LocalBackend()
    started = time.monotonic()
    handle = backend.submit(SPEC, **plugged)
    assert time.monotonic() - started < 5
    assert backend.status(handle).total == 3
    result = backend.wait(handle, poll_s=0.2, progress=False)
    assert result["Status"] == states.COMPLETED
    assert len(result["InferenceRecommendations"]) == 3
    assert not pid_alive(handle.extra["pid"])
    assert not job_processes(job_marker(backend.store, handle.job_id))


def test_stop_ends_stopped_with_nothing_left(plugged):
    backend = LocalBackend()
    handle = backend.submit(SPEC, **plugged)
    assert wait_for(lambda: backend.status(handle).status == states.IN_PROGRESS)
    backend.stop(handle)
    assert backend.status(handle).status == states.STOPPED
    assert backend.results(handle)["Status"] == states.STOPPED
    assert not pid_alive(handle.extra["pid"])
    assert not job_processes(job_marker(backend.store, handle.job_id))


def test_sigkill_keeps_finished_steps_and_resume_skips_finished_configs(plugged):
    backend = LocalBackend()
    store = backend.store
    handle = backend.submit(SPEC, **plugged)
    # let the first config finish and the second start
    assert wait_for(lambda: len(store.finished_configs(handle.job_id)) >= 1 and
                    any(c["status"] == states.IN_PROGRESS for c in store.configs(handle.job_id)))
    os.kill(handle.extra["pid"], signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(handle.extra["pid"]), 10)
    finished_before = store.finished_configs(handle.job_id)
    steps_before = Store(store.path).steps(handle.job_id)
    assert finished_before and len(steps_before) >= 5
    status = backend.status(handle)  # notices the dead process
    assert status.status == states.FAILED and "resume" in status.failure_reason

    resumed = backend.resume(handle.job_id)
    assert resumed.job_id == handle.job_id
    result = backend.wait(resumed, poll_s=0.2, progress=False)
    assert result["Status"] == states.COMPLETED
    assert len(result["InferenceRecommendations"]) == 3
    first = sorted(finished_before)[0]
    # the finished config was not run again: its steps are the ones written before the kill
    assert [s for s in store.steps(handle.job_id, first)] == [s for s in steps_before if s["config_id"] == first]
    assert not job_processes(job_marker(store, handle.job_id))
    assert not any(p.pid == handle.extra["pid"] for p in psutil.process_iter())
    json.dumps(result)


def test_ctrl_c_in_wait_stops_the_job(plugged, monkeypatch):
    import irkit.backends.local.backend as backend_module

    backend = LocalBackend()
    handle = backend.submit(SPEC, **plugged)
    assert wait_for(lambda: backend.status(handle).status == states.IN_PROGRESS)
    real_sleep = time.sleep

    def interrupted(seconds):
        monkeypatch.setattr(backend_module.time, "sleep", real_sleep)
        raise KeyboardInterrupt

    monkeypatch.setattr(backend_module.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backend.wait(handle, poll_s=0.1, progress=False)
    assert backend.status(handle).status == states.STOPPED
    assert not job_processes(job_marker(backend.store, handle.job_id))


def test_status_message_shows_the_running_configs_own_step(tmp_path):
    """When the second config starts, the progress line must not repeat the first config's last step."""
    store = Store(tmp_path / "jobs.db")
    backend = LocalBackend(store)
    job_id = store.create_job("msg", "local", status=states.IN_PROGRESS)
    store.upsert_config(job_id, "a", "local.cpu1", {}, states.COMPLETED)
    store.upsert_config(job_id, "b", "local.cpu2", {}, states.IN_PROGRESS)
    store.add_step(job_id, "a", 3, {"step": 3, "users": 4, "rps": 7.8, "p95_ms": 513.0})
    assert backend.status(job_id).message == "testing b"
    store.add_step(job_id, "b", 0, {"step": 0, "users": 1, "rps": 14.2, "p95_ms": 74.0})
    assert backend.status(job_id).message == "testing b | step 0: 1 users, 14.2 req/s, p95 74 ms"
