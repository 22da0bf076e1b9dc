"""`irkit recommend SPEC --backend sagemaker --endpoint-name NAME` end to end against moto's server,
and a killed benchmark keeping its finished steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from endpoint_helpers import marked_processes, spec_dict

from irkit.backends.sagemaker.endpoint_bench import endpoint_benchmark_result
from irkit.store import Store

pytestmark = pytest.mark.slow


def _cli(args, moto_url, **popen):
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_url}
    return subprocess.Popen([sys.executable, "-m", "irkit", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def test_cli_benchmarks_a_multi_container_endpoint(moto_url, endpoint, payload, tmp_path, mark):
    spec = spec_dict(payload, target_models={"containers": ["blue", "green"]})
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "result.json"
    proc = _cli(["recommend", str(spec_path), "--backend", "sagemaker", "--endpoint-name", endpoint,
                 "--out", str(out)], moto_url)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    result = json.loads(out.read_text())
    assert result["Status"] == "COMPLETED"
    assert result["EndpointPerformances"][0]["EndpointInfo"]["EndpointName"] == endpoint
    assert f"endpoint {endpoint}: max invocations" in stdout
    assert "step 0:" in stderr and "step 1:" in stderr  # progress per finished step
    per_model = result["irkit"]["per_model"]
    assert {e["container"] for e in per_model} == {"blue", "green"}
    assert all(e["model"] is None for e in per_model)
    assert "blue" in stdout and "green" in stdout  # the per-target table
    # the job is in the store (history) as a sagemaker job with its steps
    job = Store().get_job(result["irkit"]["job_id"])
    assert job["backend"] == "sagemaker" and job["status"] == "COMPLETED"
    assert len(Store().steps(job["job_id"])) == 2
    assert not marked_processes(mark)


def test_cli_names_a_missing_endpoint(moto_url, tmp_path, payload):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec_dict(payload)))
    proc = _cli(["recommend", str(spec_path), "--backend", "sagemaker", "--endpoint-name", "no-such-endpoint"],
                moto_url)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "irkit: error:" in stderr and "'no-such-endpoint'" in stderr


def test_killed_benchmark_keeps_its_finished_steps(moto_url, endpoint, payload, tmp_path, mark):
    spec = spec_dict(payload, stairs={"duration_in_seconds": 2, "number_of_steps": 10, "users_per_step": 1},
                     target_models={"models": ["a.tar.gz", "b.tar.gz"]})
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    proc = _cli(["recommend", str(spec_path), "--backend", "sagemaker", "--endpoint-name", endpoint,
                 "--no-progress"], moto_url, start_new_session=True)
    store = Store()
    deadline = time.monotonic() + 60
    job = None
    while time.monotonic() < deadline:
        jobs = store.list_jobs(name=spec["job_name"])
        if jobs and len(store.steps(jobs[0]["job_id"])) >= 2:
            job = jobs[0]
            break
        time.sleep(0.2)
    assert job is not None, proc.stderr.read() if proc.poll() is not None else "no step within 60 s"
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI process only: Locust is in its own session
    proc.wait(timeout=10)
    kept = len(store.steps(job["job_id"]))
    assert 2 <= kept < 10
    deadline = time.monotonic() + 15  # the Locust process notices its parent is gone and exits
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not marked_processes(mark)
    live = store.result(job["job_id"])  # the live result saved with the last finished step
    assert live["Status"] == "IN_PROGRESS"
    assert len(live["irkit"]["steps"]) in (kept - 1, kept)  # the kill may fall between step and save
    result = endpoint_benchmark_result(job["job_id"])
    assert result["Status"] == "FAILED" and "ended without finishing" in result["FailureReason"]
    assert len(result["irkit"]["steps"]) == kept
    assert result["irkit"]["per_model"] and {e["model"] for e in result["irkit"]["per_model"]} <= {"a.tar.gz",
                                                                                                 "b.tar.gz"}
    assert store.get_job(job["job_id"])["status"] == "FAILED"


def test_ctrl_c_stops_the_benchmark_with_its_steps(moto_url, endpoint, payload, tmp_path, mark):
    # Continue: the test must not end by itself (a levelled-out throughput stops it) before the Ctrl-C
    spec = spec_dict(payload, stairs={"duration_in_seconds": 2, "number_of_steps": 10, "users_per_step": 1},
                     flat_invocations="Continue")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    proc = _cli(["recommend", str(spec_path), "--backend", "sagemaker", "--endpoint-name", endpoint,
                 "--no-progress"], moto_url)
    store = Store()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = store.list_jobs(name=spec["job_name"])
        if jobs and store.steps(jobs[0]["job_id"]):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    job = store.list_jobs(name=spec["job_name"])[0]
    assert job["status"] == "STOPPED", stderr
    assert 1 <= len(store.steps(job["job_id"])) < 10
    assert len(job["result"]["irkit"]["steps"]) == len(store.steps(job["job_id"]))
    assert not marked_processes(mark)


def test_endpoint_name_needs_the_sagemaker_backend(tmp_path, payload):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec_dict(payload)))
    proc = subprocess.run([sys.executable, "-m", "irkit", "recommend", str(spec_path), "--endpoint-name", "x"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--endpoint-name" in proc.stderr and "--backend sagemaker" in proc.stderr
