"""The core stays light and its store is shared safely."""

from __future__ import annotations

import subprocess
import sys

import pytest

from irkit import states
from irkit.store import JobNotFoundError, Store

HEAVY = ("tensorflow", "boto3", "botocore", "sagemaker", "altair", "locust", "gevent", "pandas")


def test_import_irkit_is_light():
    code = (
        "import sys, irkit, irkit.cli, irkit.spec, irkit.store, irkit.jobs; irkit.cli.build_parser();"
        f"bad=[m for m in {HEAVY!r} if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_store_round_trip(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    job = store.create_job("job-a", "local", {"job_name": "job-a"})
    assert job == "job-a"
    assert store.create_job("job-a", "local", {}) == "job-a-2"
    store.upsert_config(job, "c1", "local.cpu1", {"OMP_NUM_THREADS": "1"}, states.IN_PROGRESS)
    store.add_step(job, "c1", 0, {"users": 1, "rps": 3.5})
    store.upsert_config(job, "c1", "local.cpu1", {"OMP_NUM_THREADS": "1"}, states.COMPLETED,
                        recommendation={"RecommendationId": "r1"})
    assert store.finished_configs(job) == {"c1"}
    assert store.steps(job)[0]["rps"] == 3.5
    store.save_result(job, {"Status": "COMPLETED", "InferenceRecommendations": []})
    assert store.get_job("job-a")["status"] == states.COMPLETED
    assert store.get_job("latest")["job_id"] == "job-a-2"
    with pytest.raises(JobNotFoundError, match="nope"):
        store.get_job("nope")
