"""The one job lifecycle: a local job and an endpoint benchmark give the same status for the same outcome.

No server and no Locust: each config's test is a function that returns (or raises) what a load test
would, run through the real ``JobRun`` and ``EndpointBenchmark`` against a real store.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from irkit import states
from irkit.backends import lifecycle
from irkit.backends.local.job import JobRun
from irkit.backends.sagemaker.endpoint_bench import BENCHMARK_KIND, CONFIG_ID, EndpointBenchmark
from irkit.errors import BackendError
from irkit.load.drive import ConfigOutcome, LoadSettings
from irkit.store import Store

SPEC = {"job_name": "same-status", "supported_instance_types": ["local.cpu1"],
        "stairs": {"duration_in_seconds": 5, "number_of_steps": 3, "users_per_step": 1},
        "model_latency_thresholds": [{"percentile": "P95", "value_in_milliseconds": 100}]}
STEPS = [{"step": i, "users": i + 1, "requests": 100, "errors": 0, "rps": 10.0 * (i + 1), "p95_ms": 20.0}
         for i in range(3)]


def local_run(store: Store) -> tuple[lifecycle.JobLifecycle, tuple[str, str, dict[str, str]]]:
    job_id = store.create_job("same-status", "local", SPEC, meta={"model_path": "m", "payload_path": "p"})
    run = JobRun(store, job_id)
    (planned,) = run.plan()
    return run, planned


def benchmark_run(store: Store) -> tuple[lifecycle.JobLifecycle, tuple[str, str, dict[str, str]]]:
    meta = {"kind": BENCHMARK_KIND, "endpoint_name": "ep", "region": "us-east-1", "runtime_endpoint_url": None,
            "endpoint": {"instance_type": "ml.c5.large", "variants": []}, "price_per_hour": 0.1,
            "payload_path": "p"}
    job_id = store.create_job("same-status", "sagemaker", SPEC, meta=meta)
    run = EndpointBenchmark(store, job_id)
    (planned,) = run.plan()
    assert planned[0] == CONFIG_ID
    return run, planned


def completed(config_id: str, instance_type: str) -> ConfigOutcome:
    return ConfigOutcome(config_id, instance_type, {}, max_invocations=1800, model_latency_ms=20.0,
                         plateau_step=2, plateau_reason="not_saturated", steps=list(STEPS))


def over_slo(config_id: str, instance_type: str) -> ConfigOutcome:
    steps = [{**STEPS[0], "p95_ms": 900.0}]
    return ConfigOutcome(config_id, instance_type, {}, plateau_reason="latency_threshold",
                         stop_reason="latency_threshold", steps=steps)


def levelled(config_id: str, instance_type: str) -> ConfigOutcome:
    outcome = completed(config_id, instance_type)
    outcome.stop_reason = "levelled"
    return outcome


# (what the config's test does, whether the job is stopped meanwhile, config status, job status)
CASES = {
    "plateau": (completed, False, states.COMPLETED, states.COMPLETED),
    "levelled early": (levelled, False, states.COMPLETED, states.COMPLETED),
    "nothing within the SLO": (over_slo, False, states.FAILED, states.FAILED),
    "stopped before the plateau": (completed, True, states.STOPPED, states.STOPPED),
    "stopped after the plateau stop": (levelled, True, states.COMPLETED, states.STOPPED),
    "error": (BackendError("pre-flight got HTTP 500"), False, states.FAILED, states.FAILED),
    "error while stopping": (BackendError("connection reset"), True, states.STOPPED, states.STOPPED),
}


def play(make_run, store: Store, what, stop: bool) -> tuple[str, str | None, str, str | None, list[int]]:
    run, (config_id, instance_type, env) = make_run(store)
    run.settings = LoadSettings(payload_path=Path("p"), content_type="application/json", traffic=None,
                                threshold_ms=100)
    seen: list[int] = []

    def test_config(stop_event: threading.Event, on_step) -> ConfigOutcome:
        assert not stop_event.is_set()
        for step in STEPS[:2]:
            on_step(step)
        if stop:
            run.request_stop()
            assert stop_event.is_set()  # the config's own stop follows the job's
        if isinstance(what, Exception):
            raise what
        seen.append(len(store.steps(run.job_id)))
        return what(config_id, instance_type)

    run.test(config_id, instance_type, env, test_config)
    result = run.finish()
    (row,) = store.configs(run.job_id)
    assert result["Status"] == store.get_job(run.job_id)["status"]
    return row["status"], row["failure_reason"], result["Status"], result.get("FailureReason"), seen


@pytest.mark.parametrize("case", list(CASES))
def test_local_job_and_endpoint_benchmark_give_the_same_status(case):
    what, stop, config_status, job_status = CASES[case]
    store = Store()
    local = play(local_run, store, what, stop)
    bench = play(benchmark_run, store, what, stop)
    assert local[0] == bench[0] == config_status
    assert local[2] == bench[2] == job_status
    assert local[4] == bench[4]  # each step was in the store before the config ended
    if config_status == states.FAILED:
        assert local[1] == bench[1] and local[1]
        assert (str(what) if isinstance(what, Exception) else "no step within the SLO") in local[1]
    if config_status == states.STOPPED:
        assert local[1].startswith(lifecycle.STOPPED_REASON) and bench[1].startswith(lifecycle.STOPPED_REASON)


def test_ctrl_c_stops_the_config_and_is_raised_again():
    store = Store()
    run, planned = benchmark_run(store)
    run.settings = LoadSettings(payload_path=Path("p"), content_type="application/json", traffic=None)

    def interrupted(stop_event, on_step):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.test(*planned, interrupted)
    assert run.stopped and store.configs(run.job_id)[0]["status"] == states.STOPPED
    assert run.finish()["Status"] == states.STOPPED


def test_a_resume_reruns_stopped_and_unfinished_configs_only():
    store = Store()
    spec = {**SPEC, "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2"], "TF_NUM_INTRAOP_THREADS": ["1", "2"]}]}
    spec.pop("supported_instance_types")
    job_id = store.create_job("resume", "local", spec, meta={"model_path": "m", "payload_path": "p"})
    first = JobRun(store, job_id).plan()
    for (config_id, instance_type, env), status in zip(first[:3], [states.COMPLETED, states.FAILED, states.STOPPED],
                                                       strict=True):
        store.upsert_config(job_id, config_id, instance_type, env, status)
    again = JobRun(store, job_id).plan()
    assert [p[0] for p in again] == [first[2][0], first[3][0]]
    assert {c["config_id"]: c["status"] for c in store.configs(job_id)}[first[2][0]] == states.PENDING


def test_a_dead_process_fails_the_job_and_keeps_its_steps():
    store = Store()
    run, (config_id, instance_type, env) = benchmark_run(store)
    run.start()
    store.upsert_config(run.job_id, config_id, instance_type, env, states.IN_PROGRESS)
    store.add_step(run.job_id, config_id, 0, {**STEPS[0], "config_id": config_id})
    result = EndpointBenchmark(store, run.job_id).process_died("the process ended without finishing")
    assert result["Status"] == states.FAILED and "without finishing" in result["FailureReason"]
    assert len(result["irkit"]["steps"]) == 1
    store.set_status(run.job_id, states.STOPPING)
    assert EndpointBenchmark(store, run.job_id).process_died("gone")["Status"] == states.STOPPED


def test_the_lifecycle_imports_no_backend():
    import ast

    tree = ast.parse(Path(lifecycle.__file__).read_text())
    names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [n for n in names if n.startswith(("irkit.backends", "boto3", "botocore", "locust"))] == []
