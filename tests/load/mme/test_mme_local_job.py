"""A real local multi-model job: 3 copies of the tiny model served by `irkit serve --multi-model`
(ServerProcess), a Zipf load from real Locust, per-model figures in the result, and a killed job
keeping its finished steps."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from irkit import states
from irkit.backends.local.backend import LocalBackend, job_marker, job_processes

STAIRS = {"duration_in_seconds": 2, "number_of_steps": 2, "users_per_step": 1}
MODELS = ["m1.tar.gz", "m2.tar.gz", "m3.tar.gz"]


@pytest.fixture
def model_dir(tmp_path, tiny_model_tarball):
    folder = tmp_path / "models"
    folder.mkdir()
    for name in MODELS:
        shutil.copy(tiny_model_tarball, folder / name)
    return folder


def _spec(name, stairs=STAIRS):
    return {"job_name": name, "supported_instance_types": ["local.cpu1"], "stairs": stairs,
            "supported_content_types": ["application/json"],
            "target_models": {"models": MODELS, "distribution": "zipf", "exponent": 1.2}}


def test_local_mme_job_reports_per_model_cold_and_warm(model_dir, resnet_payload_tarball):
    from irkit.results import per_model as M

    backend = LocalBackend()
    handle = backend.submit(_spec("mme-e2e"), model=model_dir, payload=resnet_payload_tarball)
    result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=240)
    assert result["Status"] == states.COMPLETED, result.get("FailureReason")
    per_model = result["irkit"]["per_model"]
    steps = result["irkit"]["steps"]
    for step in steps:
        assert sum(e["requests"] for e in step["per_model"]) == step["requests"]
    summary = M.model_summary(result).set_index(M.TARGET)
    assert set(summary.index) <= set(MODELS) and "m1.tar.gz" in summary.index
    assert summary.loc["m1.tar.gz", M.REQUESTS] == summary[M.REQUESTS].max()  # zipf rank 1
    # every model is loaded on its first request: the runner unloads the one the pre-flight loaded
    loads = {e["model"]: 0 for e in per_model}
    for e in per_model:
        loads[e["model"]] += e["loads"]
    assert all(loads[m] == 1 for m in loads)
    cold = summary[summary[M.COLD_REQUESTS] > 0]
    assert len(cold) >= 1
    for _, row in cold.iterrows():
        assert row[M.COLD_P50_MS] > row[M.WARM_P50_MS]  # a load costs more than an answer
        assert 0 < row[M.HIT_RATE] < 1
    assert summary.loc["m1.tar.gz", M.COLD_REQUESTS] >= 1 and summary.loc["m1.tar.gz", M.HIT_RATE] < 1.0


def test_killed_mme_job_keeps_its_finished_steps(model_dir, resnet_payload_tarball):
    backend = LocalBackend()
    stairs = {"duration_in_seconds": 2, "number_of_steps": 20, "users_per_step": 1}
    handle = backend.submit(_spec("mme-kill", stairs), model=model_dir, payload=resnet_payload_tarball)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(backend.store.steps(handle.job_id)) < 2:
        time.sleep(0.3)
    kept = backend.store.steps(handle.job_id)
    assert len(kept) >= 2, "the job never finished two steps"
    pid = backend.store.get_job(handle.job_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(1.0)
    after = backend.store.steps(handle.job_id)
    assert len(after) >= len(kept)
    assert all(s.get("per_model") for s in after[: len(kept)])
    from irkit.backends.local.job import build_job_result

    result = build_job_result(backend.store, handle.job_id)
    assert len({(e["step"], e["model"]) for e in result["irkit"]["per_model"]}) >= 2
    backend.stop(handle)
    assert not job_processes(job_marker(backend.store, handle.job_id))  # server and Locust reaped


@pytest.mark.parametrize(
    ("target_models", "field"),
    [({"models": ["m1.tar.gz", "missing.tar.gz"]}, "target_models.models[1]"),
     ({"containers": ["m1", "nope"]}, "target_models.containers[1]"),
     ({"models": ["m1"], "containers": ["m2"]}, "target_models.containers")],
)
def test_submit_checks_the_model_folder_against_target_models(model_dir, resnet_payload_tarball, target_models,
                                                              field):
    from irkit.errors import SpecError

    spec = {**_spec("mme-bad"), "target_models": target_models}
    with pytest.raises(SpecError) as info:
        LocalBackend().submit(spec, model=model_dir, payload=resnet_payload_tarball)
    assert info.value.field == field


def test_submit_needs_a_folder_with_target_models(tiny_model_tarball, resnet_payload_tarball):
    from irkit.errors import SpecError

    with pytest.raises(SpecError) as info:
        LocalBackend().submit(_spec("mme-file"), model=tiny_model_tarball, payload=resnet_payload_tarball)
    assert info.value.field == "model" and "folder of *.tar.gz" in str(info.value)


def test_local_multi_container_job_splits_per_container(model_dir, resnet_payload_tarball):
    spec = {**_spec("mc-e2e", {"duration_in_seconds": 3, "number_of_steps": 1, "users_per_step": 2}),
            "target_models": {"containers": ["m1", "m2"], "distribution": "uniform"}}
    backend = LocalBackend()
    handle = backend.submit(spec, model=model_dir, payload=resnet_payload_tarball)
    result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=240)
    assert result["Status"] == states.COMPLETED, result.get("FailureReason")
    entries = result["irkit"]["per_model"]
    assert {e["container"] for e in entries} == {"m1", "m2"}
    assert all(e["model"] is None and e["errors"] == 0 and e["requests"] > 0 for e in entries)
