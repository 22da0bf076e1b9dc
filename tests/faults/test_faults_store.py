"""The job store under concurrency, with real processes: two ``irkit recommend`` jobs (their CLIs
and runner processes writing steps as fast as a fake load makes them) and an ``irkit jobs list``
loop, all on one SQLite file. Nobody sees "database is locked", and no step is lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from faults_helpers import Cli

from irkit import states
from irkit.store import Store

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
FAKES = HERE.parent / "backends" / "local"
CONFIGS = 6  # 3 x 2 env values
STEPS = 25  # per config, written 10 ms apart by faults_plugins.fast_load

LIST_LOOP = """
import subprocess, sys, time
end = time.monotonic() + float(sys.argv[1])
runs = failures = 0
while time.monotonic() < end:
    done = subprocess.run([sys.executable, "-m", "irkit", "jobs", "list"], capture_output=True, text=True)
    runs += 1
    if done.returncode != 0 or "locked" in done.stderr:
        failures += 1
        print(done.stderr, file=sys.stderr, flush=True)
print(runs, failures)
"""


@pytest.fixture
def plugged_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(FAKES), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("IRKIT_LOCAL_SERVER_FACTORY", "faults_plugins:FakeServer")
    monkeypatch.setenv("IRKIT_LOCAL_LOAD_FN", "faults_plugins:fast_load")
    monkeypatch.setenv("IRKIT_TEST_FAST_LOAD_STEPS", str(STEPS))
    payload = tmp_path / "payload.json"
    payload.write_text("[[[0.0]]]")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not read by the fake server")
    return model, payload


def test_two_jobs_and_a_listing_loop_share_the_store(tmp_path, mark, plugged_env):
    model, payload = plugged_env
    clis = []
    for name in ("busy-a", "busy-b"):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(yaml.safe_dump({
            "job_name": name, "max_parallel_tests": 2,
            "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2", "3"],
                                       "TF_NUM_INTRAOP_THREADS": ["1", "2"]}],
            "stairs": {"duration_in_seconds": 1, "number_of_steps": 4, "users_per_step": 1},
        }))
        clis.append(Cli(["recommend", str(spec), "--model", str(model), "--payload", str(payload)], tmp_path, name))
    lister = subprocess.run([sys.executable, "-c", LIST_LOOP, "25"], capture_output=True, text=True, timeout=120)
    try:
        codes = [cli.wait(120) for cli in clis]
    finally:
        for cli in clis:
            cli.kill()
    runs, failures = map(int, lister.stdout.split())
    assert runs >= 5 and failures == 0, lister.stderr[-3000:]
    store = Store()
    logs = [(store.path.parent / "jobs" / j["job_id"] / "job.log").read_text() for j in store.list_jobs()]
    for text in [cli.err for cli in clis] + logs + [lister.stderr]:
        assert "locked" not in text, text[-3000:]
    assert codes == [0, 0], [cli.err[-2000:] for cli in clis]
    jobs = store.list_jobs()
    assert sorted(j["job_id"] for j in jobs) == ["busy-a", "busy-b"]
    for job in jobs:
        assert job["status"] == states.COMPLETED
        steps = store.steps(job["job_id"])
        assert len(steps) == CONFIGS * STEPS  # every step of every config was kept
        for config in store.configs(job["job_id"]):
            own = [s["step"] for s in steps if s["config_id"] == config["config_id"]]
            assert own == list(range(STEPS)), config["config_id"]
