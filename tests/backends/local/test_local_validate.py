"""irkit plan --validate: a trace replayed against the plan catches the burst above its headroom.

The "configuration" is a capacity server of known MaxInvocations (1 slot x 50 ms = 20 req/s = 1200
req/min), so what the plan predicts can be checked against what the replay measures.
"""

from __future__ import annotations

import json

import pytest

from irkit.backends.local.validate import MODE_REPLICAS, MODE_SHARE, choose_mode, validate_plan
from irkit.cli import main
from irkit.errors import SpecError
from irkit.results.plan import plan_fleet, trace_prediction
from irkit.serve.capacity import CapacityServer

SLO = "P95:200"


def _result(max_inv=1200, latency=50, instance_type="local.cpu1"):
    return {"JobName": "fleet", "Status": "COMPLETED", "JobArn": "arn:irkit:local:inference-recommendations-job/f",
            "InferenceRecommendations": [{
                "RecommendationId": "fleet/1", "Metrics": {"CostPerHour": 0.05, "MaxInvocations": max_inv,
                                                           "ModelLatency": latency},
                "EndpointConfiguration": {"InstanceType": instance_type, "InitialInstanceCount": 1},
                "ModelConfiguration": {"EnvironmentParameters": []}}],
            "irkit": {"backend": "local", "configs": [], "steps": []}}


class CapacityFactory:
    """A server_factory for validate_plan: each 'instance' is a capacity server of 1 slot x 50 ms."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, **kwargs):
        self.calls.append(kwargs)
        return CapacityServer(slots=kwargs.get("replicas", 1), service_ms=50)  # has start, stop, url


@pytest.fixture
def burst_trace(tmp_path):
    path = tmp_path / "burst.csv"  # per minute: 10 req/s, 10, a 30 req/s burst, back to 10
    path.write_text("minute,requests\n0,600\n1,600\n2,1800\n3,600\n")
    return path


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.json"
    path.write_bytes(b"[[0.1]]")
    return path


@pytest.mark.slow
def test_a_burst_above_the_headroom_breaks_where_the_plan_predicts(burst_trace, payload):
    answer = plan_fleet(_result(), peak_rps=15, slo=SLO)  # 15 req/s = 900/min = 1200 x (1 - 0.25): 1 instance
    plan = answer.plans[answer.best]
    assert plan.instances == 1 and plan.invocations_per_instance_target == 900
    before = trace_prediction(plan, burst_trace, slo_ms=200)
    assert before["over_target"] == [2] and before["over_capacity"] == [2] and before["queueing"] == [2, 3]
    factory = CapacityFactory()
    validation = validate_plan(answer, burst_trace, model="unused", payload=payload, time_scale=20,
                               server_factory=factory)
    assert validation.mode == MODE_SHARE and validation.rate_scale == 1.0
    assert factory.calls and factory.calls[0]["env"] == {}
    report = validation.replay
    assert [m["minute"] for m in report.minutes] == [0, 1, 2, 3]
    held = {m["minute"]: m["held"] for m in report.minutes}
    assert held[0] and held[1]  # 10 req/s on a 20 req/s server: inside the SLO
    assert not held[2]  # the burst: 30 req/s queue on 20 req/s
    assert not validation.held and 2 in report.violated_minutes
    assert validation.predicted["queueing"] == [2, 3] and validation.unpredicted == []
    text = validation.text()
    assert "SLO NOT held" in text and "minute 2" in text.replace("minutes 2", "minute 2")
    assert report.totals["sent"] == pytest.approx(3 * (10 + 10 + 30 + 10), abs=1)  # 3 s per trace minute


@pytest.mark.slow
def test_the_same_trace_holds_on_two_instances_at_full_scale(burst_trace, payload):
    answer = plan_fleet(_result(), peak_rps=30, slo=SLO)  # 1800/min over 900 per instance: 2 instances
    assert answer.plans[0].instances == 2
    factory = CapacityFactory()
    validation = validate_plan(answer, burst_trace, model="unused", payload=payload, time_scale=20,
                               server_factory=factory, cores=2)
    assert validation.mode == MODE_REPLICAS and validation.replicas == 2 and factory.calls[0]["replicas"] == 2
    assert validation.held, validation.text()
    assert validation.predicted == {"over_capacity": [], "over_target": [], "queueing": []}


def test_mode_follows_the_cores_and_the_instance_type():
    two = plan_fleet(_result(), peak_rps=30, slo=SLO).plans[0]
    assert choose_mode(two, cores=2) == MODE_REPLICAS
    assert choose_mode(two, cores=1) == MODE_SHARE
    assert choose_mode(two, cores=2, full_scale=False) == MODE_SHARE
    with pytest.raises(SpecError) as err:
        choose_mode(two, cores=1, full_scale=True)
    assert err.value.field == "--full-scale"
    cloud = plan_fleet(_result(instance_type="ml.c5.xlarge"), peak_rps=30, slo=SLO).plans[0]
    with pytest.raises(SpecError, match="--endpoint-url"):
        choose_mode(cloud, cores=8)
    assert choose_mode(cloud, endpoint_url="http://127.0.0.1:8080") == "endpoint"


@pytest.mark.slow
def test_cli_validate_against_a_running_endpoint(tmp_path, burst_trace, payload, capsys):
    result = tmp_path / "result.json"
    result.write_text(json.dumps(_result()))
    with CapacityServer(slots=1, service_ms=50) as server:
        code = main(["plan", str(result), "--peak-rps", "15", "--slo", SLO, "--trace", str(burst_trace),
                     "--validate", "--endpoint-url", server.url, "--payload", str(payload), "--time-scale", "20",
                     "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the SLO broke in the replay
    assert out["validation"]["mode"] == "endpoint" and out["validation"]["held"] is False
    assert 2 in out["validation"]["replay"]["violated_minutes"]
    assert main(["plan", str(result), "--peak-rps", "15", "--slo", SLO, "--validate"]) == 2
    assert "--validate: needs --trace" in capsys.readouterr().err


@pytest.mark.slow
def test_a_local_job_with_traffic_type_trace_replays_it_to_the_end(tmp_path, payload):
    from irkit.backends.local.backend import LocalBackend
    from irkit.load.replay import summarize_replay

    trace = tmp_path / "trace.csv"
    trace.write_text("second,requests\n0,10\n1,30\n2,5\n3,20\n")
    spec = {"job_name": "trace-job", "supported_instance_types": ["local.cpu1"],
            "trace": {"path": str(trace), "time_scale": 2},
            "model_latency_thresholds": [{"percentile": "P95", "value_in_milliseconds": 1000}]}
    with CapacityServer(slots=4, service_ms=5) as server:
        backend = LocalBackend()
        handle = backend.submit(spec, payload=payload, endpoint_url=server.url)
        result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=120)
    steps = result["irkit"]["steps"]
    assert result["Status"] == "COMPLETED" and len(steps) == 4  # the whole trace
    assert [s["trace_s"] for s in steps] == [0, 1, 2, 3] and [s["duration_s"] for s in steps] == [0.5] * 4
    assert [s["sent"] for s in steps] == [5, 15, 2, 10]  # half a second of each trace second (rate kept)
    report = summarize_replay(steps, slo_ms=1000)
    assert report.totals["sent"] == 32 and report.held
    from irkit.load.replay import job_replays

    assert all(s["threshold_ms"] == 1000 for s in steps)
    (replay,) = job_replays(result).values()  # what irkit plan and the report show for a TRACE job
    assert replay.slo_ms == 1000 and replay.totals["sent"] == 32


@pytest.mark.slow
@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs 2 CPUs for 2 replicas")
def test_validate_a_real_job_with_two_replicas_at_full_scale(tiny_model_tarball, resnet_payload_tarball):
    """A real local job (tiny model), planned for 2 x local.cpu1, replayed on 2 replicas behind the router."""
    from irkit.backends import get_backend
    from irkit.spec.trace import sample_trace

    backend = get_backend("local")
    spec = {"job_name": "fleet-e2e", "supported_instance_types": ["local.cpu1"],
            "stairs": {"duration_in_seconds": 2, "number_of_steps": 2, "users_per_step": 1}}
    handle = backend.submit(spec, model=tiny_model_tarball, payload=resnet_payload_tarball)
    result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=240)
    (rec,) = result["InferenceRecommendations"]
    per_instance = rec["Metrics"]["MaxInvocations"] * 0.75 / 60  # req/s one instance is planned for
    answer = plan_fleet(result, peak_rps=1.5 * per_instance, slo="P95:5000")
    assert answer.plans[0].instances == 2
    trace = sample_trace(min(1.5 * per_instance, 20.0), 3)  # at most 20 req/s: the generator shares the cores
    validation = backend.validate_plan(answer, trace, job=handle.job_id, time_scale=30)
    assert validation.mode == MODE_REPLICAS and validation.replicas == 2
    totals = validation.replay.totals
    assert totals["sent"] == pytest.approx(totals["expected"], abs=2)
    assert totals["errors"] == 0 and [m["minute"] for m in validation.replay.minutes] == [0, 1, 2]
