"""Kill -9 any process of a running local job: within 10 s nothing of the job is left, the finished
config keeps its steps, the job reads FAILED with the --resume hint, and --resume finishes it.

Real processes throughout: the CLI, the job's runner, the model server (a tiny SavedModel) and a
Locust master with one worker.
"""

from __future__ import annotations

import json
import signal

import psutil
import pytest
import yaml
from faults_helpers import Cli, run_cli, wait_for
from helpers_process import describe, marked, wait_gone

from irkit import states
from irkit.store import Store

pytestmark = pytest.mark.slow

LEFT_WITHIN_S = 10.0


def write_spec(folder, payload, name):
    spec = {
        "job_name": name,
        "sample_payload_url": str(payload),
        "supported_content_types": ["application/json"],
        "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2"]}],
        "stairs": {"duration_in_seconds": 2, "number_of_steps": 4, "users_per_step": 1},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def role_of(process: psutil.Process) -> str | None:
    try:
        argv = process.cmdline()
    except psutil.Error:
        return None
    line = " ".join(argv)
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    if module in ("irkit.serve", "irkit.serve.server"):
        return "server"
    if "locust" in line:
        return "worker" if "--worker" in line else "master"
    if "irkit.backends.local.backend" in line:
        return "runner"
    return None


def second_config_under_load(store, job_id, mark):
    """The first config finished and the second one has a step: server and Locust are up."""
    configs = store.configs(job_id)
    if len(configs) < 2 or configs[0]["status"] != states.COMPLETED:
        return None
    if configs[1]["status"] != states.IN_PROGRESS or not store.steps(job_id, configs[1]["config_id"]):
        return None
    roles = {role_of(p): p for p in marked(mark)}
    return roles if {"runner", "server", "master", "worker"} <= roles.keys() else None


@pytest.mark.parametrize("victim", ["cli+runner", "runner", "server", "master", "worker"])
def test_killing_any_process_of_a_job_leaves_nothing_and_resume_finishes(
        victim, tmp_path, mark, tiny_model_tarball, resnet_payload_tarball):
    name = "kill-" + victim.replace("+", "-")
    spec = write_spec(tmp_path, resnet_payload_tarball, name)
    cli = Cli(["recommend", str(spec), "--model", str(tiny_model_tarball), "--workers", "1"], tmp_path)
    store = Store()
    try:
        job_id = wait_for(lambda: [j["job_id"] for j in store.list_jobs()], 30, what="the job")[0]
        roles = wait_for(lambda: second_config_under_load(store, job_id, mark), 150, 0.1,
                         what=f"the second config under load; stderr:\n{cli.err[-2000:]}")
        first = store.configs(job_id)[0]["config_id"]
        steps_before = store.steps(job_id, first)
        assert len(steps_before) == 4

        if victim == "cli+runner":
            cli.kill()  # by design the job runs on without its CLI ...
            count = len(store.steps(job_id))
            wait_for(lambda: len(store.steps(job_id)) > count, 30, what="a step after the CLI died")
            assert roles["runner"].is_running()
            roles["runner"].send_signal(signal.SIGKILL)  # ... until its runner dies too
        else:
            roles[victim].send_signal(signal.SIGKILL)
        left = wait_gone(mark, LEFT_WITHIN_S)
        assert not left, f"still running {LEFT_WITHIN_S} s after killing the {victim}: {describe(left)}"
        if victim != "cli+runner":
            assert cli.wait(5) == 1, cli.err
            assert "--resume" in cli.err, cli.err

        listing = run_cli(["jobs", "list", "--json"])
        (row,) = json.loads(listing.stdout)
        assert row["status"] == states.FAILED, row
        shown = run_cli(["jobs", "show", job_id])
        assert states.FAILED in shown.stdout and f"irkit recommend --resume {job_id}" in shown.stdout, shown.stdout
        assert store.steps(job_id, first) == steps_before  # the finished config's steps are kept
        assert not marked(mark)  # reading the job started nothing that stays

        resumed = run_cli(["recommend", "--resume", job_id, "--no-progress"], timeout=180)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        job = store.get_job(job_id)
        assert job["status"] == states.COMPLETED
        assert len(job["result"]["InferenceRecommendations"]) == 2
        assert store.steps(job_id, first) == steps_before  # not run again
        assert not wait_gone(mark, LEFT_WITHIN_S)
    finally:
        cli.kill()
