"""The per-config loop and the job run, with a fake server and a fake load generator (no Locust here)."""

from __future__ import annotations

import io
import json
import tarfile
import threading

import pytest
from runner_fakes import FakeServer, capacity_load

from irkit import states
from irkit.backends.lifecycle import load_settings
from irkit.backends.local import job as job_run
from irkit.backends.local import runner
from irkit.errors import BackendError
from irkit.load.describe import build_recommendation, cost_per_inference
from irkit.spec import JobSpec
from irkit.store import Store

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


@pytest.fixture
def payload_tarball(tmp_path):
    path = tmp_path / "payload.tar.gz"
    body = json.dumps([[[0.0, 0.0, 0.0]]]).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("sample.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return path


def spec_dict(**extra):
    base = {
        "job_name": "loop-test",
        "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2"]}],
        "stairs": {"duration_in_seconds": 5, "number_of_steps": 6, "users_per_step": 1},
        "supported_content_types": ["application/json"],
    }
    base.update(extra)
    return base


def settings_for(spec, payload):
    return load_settings(spec, {"payload_path": str(payload), "workers": 1}, payload.parent / "work")


def test_run_config_finds_capacity_and_stops_the_server(payload_tarball):
    spec = JobSpec.from_dict(spec_dict())
    config = spec.configurations()[0]
    load = capacity_load(capacity_rps=50.0, rps_per_user=20.0)
    outcome = runner.run_config(config, "model.tar.gz", settings_for(spec, payload_tarball),
                                server_factory=FakeServer, load_fn=load)
    server = FakeServer.instances[-1]
    assert server.stopped and server.env == {"OMP_NUM_THREADS": "1"} and len(server.cpus) == 1
    assert outcome.max_invocations == 50 * 60
    assert outcome.plateau_step == 2  # 3 users is the first step at capacity
    assert outcome.model_latency_ms == pytest.approx(20.0 * 60 / 50)
    assert outcome.cpu_utilization == 42.0 and outcome.memory_utilization == 3.5
    assert outcome.model_setup_time_s == 0.25
    assert load.calls[0]["content_type"] == "application/json"
    assert load.calls[0]["payload_path"].name == "sample.json"
    rec = build_recommendation("loop-test", outcome.to_dict())
    assert rec["Metrics"]["MaxInvocations"] == 3000
    assert rec["Metrics"]["CostPerInference"] == pytest.approx(cost_per_inference(outcome.price_per_hour, 3000))
    assert rec["ModelConfiguration"]["EnvironmentParameters"] == [
        {"Key": "OMP_NUM_THREADS", "ValueType": "String", "Value": "1"}]


def test_flat_invocations_stop_ends_the_load_early(payload_tarball):
    spec = JobSpec.from_dict(spec_dict(flat_invocations="Stop"))
    load = capacity_load(capacity_rps=50.0, rps_per_user=20.0)
    outcome = runner.run_config(spec.configurations()[0], "m", settings_for(spec, payload_tarball),
                                server_factory=FakeServer, load_fn=load)
    assert outcome.stop_reason == "levelled"
    assert len(outcome.steps) == 5  # 3 users reach capacity, 2 more steps show it is flat
    assert outcome.max_invocations == 3000


def test_latency_threshold_picks_the_last_step_within_slo(payload_tarball):
    spec = JobSpec.from_dict(spec_dict(model_latency_thresholds=[{"percentile": "P95", "value_in_milliseconds": 30}]))
    outcome = runner.run_config(spec.configurations()[0], "m", settings_for(spec, payload_tarball),
                                server_factory=FakeServer, load_fn=capacity_load(capacity_rps=50.0))
    # 2 users: 40 rps at 20 ms; 3 users: 50 rps at 24 ms; 4 users: 32 ms > 30 -> stop
    assert outcome.stop_reason == "latency_threshold"
    assert outcome.max_invocations == 50 * 60 and outcome.model_latency_ms == pytest.approx(24.0)


def test_preflight_failure_fails_the_config_and_still_stops_the_server(payload_tarball):
    spec = JobSpec.from_dict(spec_dict())

    def refusing(*a, **kw):
        return FakeServer(*a, accept=False, **kw)

    with pytest.raises(BackendError, match="pre-flight.*HTTP 400"):
        runner.run_config(spec.configurations()[0], "m", settings_for(spec, payload_tarball),
                          server_factory=refusing, load_fn=capacity_load())
    assert FakeServer.instances[-1].stopped


def make_job(store, payload, **extra):
    spec = JobSpec.from_dict(spec_dict(**extra))
    meta = {"model_path": "model.tar.gz", "payload_path": str(payload), "workers": 1}
    return store.create_job(spec.job_name, "local", spec.to_dict(), meta=meta)


def test_job_run_writes_every_config_and_builds_the_describe_shape(payload_tarball):
    store = Store()
    job_id = make_job(store, payload_tarball)
    result = job_run.JobRun(store, job_id, server_factory=FakeServer, load_fn=capacity_load()).run()
    assert result["Status"] == states.COMPLETED
    assert len(result["InferenceRecommendations"]) == 2
    assert {c["status"] for c in store.configs(job_id)} == {states.COMPLETED}
    assert len(store.steps(job_id)) == 12 and len(result["irkit"]["steps"]) == 12
    assert store.get_job(job_id)["result"]["Status"] == states.COMPLETED
    json.dumps(result)  # JSON-safe
    envs = {r["ModelConfiguration"]["EnvironmentParameters"][0]["Value"] for r in result["InferenceRecommendations"]}
    assert envs == {"1", "2"}


def test_job_run_resume_skips_finished_configs(payload_tarball):
    store = Store()
    job_id = make_job(store, payload_tarball)
    first = spec_configs = JobSpec.from_dict(spec_dict()).configurations()
    store.upsert_config(job_id, first[0].config_id, "local.cpu1", dict(first[0].environment), states.COMPLETED,
                        recommendation={"config_id": first[0].config_id, "instance_type": "local.cpu1",
                                        "environment": dict(first[0].environment), "max_invocations": 600,
                                        "model_latency_ms": 10, "price_per_hour": 0.1})
    load = capacity_load()
    result = job_run.JobRun(store, job_id, server_factory=FakeServer, load_fn=load).run()
    assert len(load.calls) == 1  # only the unfinished config ran
    assert len(result["InferenceRecommendations"]) == 2
    assert spec_configs[1].config_id in {s["config_id"] for s in store.steps(job_id)}


def test_job_run_max_tests_and_parallel_warning(payload_tarball):
    store = Store()
    job_id = make_job(store, payload_tarball, max_tests=2, max_parallel_tests=2,
                      hyperparameter_ranges=[{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2", "3"]}])
    load = capacity_load(step_s=0.05)
    result = job_run.JobRun(store, job_id, server_factory=FakeServer, load_fn=load).run()
    assert len(load.calls) == 2 and len(result["InferenceRecommendations"]) == 2
    assert "share CPUs" in result["irkit"]["warnings"][0]


def test_job_run_stop_leaves_unfinished_configs_stopped_for_a_resume(payload_tarball):
    store = Store()
    job_id = make_job(store, payload_tarball)
    stop = threading.Event()
    run = job_run.JobRun(store, job_id, stop_event=stop, server_factory=FakeServer,
                         load_fn=capacity_load(step_s=0.2))
    threading.Timer(0.3, run.request_stop).start()
    result = run.run()
    assert result["Status"] == states.STOPPED
    assert all(c["status"] == states.STOPPED for c in store.configs(job_id))
    assert all(s.stopped for s in FakeServer.instances if s.started)


def test_a_trace_replay_plays_to_the_end_past_slo_breaks():
    """LoadSettings.play_to_end (traffic_type TRACE): an SLO break does not stop the load."""
    import threading
    from pathlib import Path

    from irkit.backends.local.runner import ConfigOutcome, LoadSettings, drive_load

    def load(url, payload, content_type, traffic, *, on_step, stop_event, extra_config=None, **kw):
        load.extra = extra_config
        for i in range(3):
            on_step({"step": i, "rps": 10.0, "requests": 10, "p95_ms": 500.0, "p99_ms": 600.0, "errors": 0})
            if stop_event.is_set():
                break
        return None

    for play_to_end, steps in ((False, 1), (True, 3)):
        settings = LoadSettings(Path("p.json"), "application/json", None, threshold_ms=100,
                                open_loop={"rates_per_second": [10, 10, 10], "duration_in_seconds": 1},
                                load_config={"arrivals": "even"}, play_to_end=play_to_end, max_seconds=10)
        outcome = ConfigOutcome("c", "local.cpu1", {})
        drive_load("http://x", outcome, settings, threading.Event(), None, load, None)
        assert len(outcome.steps) == steps
        assert load.extra == {"arrivals": "even"}


def no_traffic_spec(instance_type="local.cpu1", **extra):
    base = {"job_name": "knee-test", "supported_instance_types": [instance_type],
            "supported_content_types": ["application/json"]}
    base.update(extra)
    return JobSpec.from_dict(base)


def test_a_spec_without_traffic_runs_the_knee_search(payload_tarball):
    spec = no_traffic_spec()
    settings = settings_for(spec, payload_tarball)
    assert settings.traffic is None and settings.searches_knee
    load = capacity_load(capacity_rps=50.0, rps_per_user=20.0)
    outcome = runner.run_config(spec.configurations()[0], "m", settings, server_factory=FakeServer, load_fn=load)
    assert load.calls[0]["knee"] is not None and load.calls[0]["traffic"] is None
    # doubling until flat, one bisection, then the best level measured again
    assert [s["users"] for s in outcome.steps][:5] == [1, 2, 4, 8, 3]
    assert len(outcome.steps) == 6 and outcome.steps[-1]["users"] in (3, 4, 8)
    assert outcome.knee_users == 3 and outcome.max_invocations == 50 * 60
    lo, hi = outcome.max_invocations_ci
    assert lo < 3000 < hi and outcome.stable is True
    assert outcome.plateau_reason == "levelled"
    assert outcome.steps[outcome.plateau_step]["users"] == 3
    assert outcome.generator["cpu_percent"] == 5.0


def test_the_generator_avoids_the_servers_cores_or_says_it_shares_them(payload_tarball):
    import os

    cores = sorted(os.sched_getaffinity(0))
    spec = no_traffic_spec()
    load = capacity_load()
    outcome = runner.run_config(spec.configurations()[0], "m", settings_for(spec, payload_tarball),
                                server_factory=FakeServer, load_fn=load)
    server_cpus = set(FakeServer.instances[-1].cpus)
    if len(cores) > 1:
        assert set(load.calls[0]["cpus"]) == set(cores) - server_cpus
        assert outcome.generator["shares_server_cores"] is False
    everything = no_traffic_spec(f"local.cpu{len(cores)}")
    outcome = runner.run_config(everything.configurations()[0], "m", settings_for(everything, payload_tarball),
                                server_factory=FakeServer, load_fn=capacity_load())
    assert outcome.generator == {"cpu_percent": 5.0, "shares_server_cores": True, "cores": cores}


def test_the_result_carries_the_interval_stability_knee_and_generator(payload_tarball):
    store = Store()
    spec = no_traffic_spec()
    job_id = store.create_job(spec.job_name, "local", spec.to_dict(),
                              meta={"model_path": "m", "payload_path": str(payload_tarball)})
    result = job_run.JobRun(store, job_id, server_factory=FakeServer, load_fn=capacity_load()).run()
    config = result["irkit"]["configs"][0]
    knee = config["knee"]
    assert knee["users"] == 3 and knee["reason"] == "levelled" and knee["confirmed"] is True
    assert knee["best_users"] in (3, 4, 8) and 2 < knee["latency_users"] <= 3
    assert config["max_invocations_ci"][0] < result["InferenceRecommendations"][0]["Metrics"]["MaxInvocations"]
    assert config["stable"] is True
    assert set(config["generator"]) == {"cpu_percent", "shares_server_cores", "cores"}
    assert all("windows" in s and "stable" in s for s in result["irkit"]["steps"])
