"""irkit.results.plan: the fleet arithmetic on hand-computed cases, the SLO pick, intervals, traces."""

from __future__ import annotations

import json

import pytest

from irkit.cli import main
from irkit.errors import SpecError
from irkit.results.plan import Slo, instances_needed, plan_fleet, trace_prediction
from irkit.results.scaling import application_autoscaling_calls, policy_summary


def rec(rec_id, instance_type, max_inv, latency, cost, env=None):
    return {"RecommendationId": rec_id,
            "Metrics": {"CostPerHour": cost, "CostPerInference": cost / (max_inv * 60), "MaxInvocations": max_inv,
                        "ModelLatency": latency},
            "EndpointConfiguration": {"VariantName": "AllTraffic", "InstanceType": instance_type,
                                      "InitialInstanceCount": 1},
            "ModelConfiguration": {"EnvironmentParameters": [
                {"Key": k, "ValueType": "String", "Value": v} for k, v in (env or {}).items()]}}


def result(*recs, backend="local", configs=None, steps=None):
    out = {"JobName": "fleet-job", "Status": "COMPLETED", "InferenceRecommendations": list(recs),
           "JobArn": "arn:irkit:local:inference-recommendations-job/x" if backend == "local" else "arn:aws:sagemaker:x"}
    if backend == "local":
        out["irkit"] = {"backend": "local", "configs": configs or [], "steps": steps or []}
    return out


@pytest.mark.parametrize(("peak", "max_inv", "headroom", "expected"), [
    (10, 800, 0.25, 1),  # 600 / 600: exactly one instance
    (20, 800, 0.25, 2),  # exactly two
    (20.01, 800, 0.25, 3),  # a hair over two
    (49, 700, 0.3, 6),  # 2940 / 490 exactly (in floats 6.000000000000001: 7 by mistake)
    (1, 6000, 0.0, 1),  # never fewer than one
    (100, 600, 0.5, 20),
])
def test_instances_on_hand_computed_cases(peak, max_inv, headroom, expected):
    assert instances_needed(peak, max_inv, headroom) == expected


def test_every_figure_of_a_plan():
    answer = plan_fleet(result(rec("r1", "ml.c5.xlarge", 800, 90, 0.2, {"OMP_NUM_THREADS": "2"})),
                        peak_rps=20, slo="P95:100", hours_per_month=730, min_rps=4)
    (p,) = answer.plans
    assert (p.instances, p.cost_per_hour, p.cost_per_month) == (2, 0.4, 292.0)
    assert p.invocations_per_instance_target == 600.0  # 800 x (1 - 0.25) per minute
    assert (p.min_capacity, p.max_capacity) == (1, 2)  # 4 req/s = 240/min fits one instance at 600
    assert p.meets_slo and p.environment == {"OMP_NUM_THREADS": "2"}
    assert p.config == "ml.c5.xlarge+OMP_NUM_THREADS=2" and p.utilization_at_peak == 0.75
    assert answer.best == 0 and "2 x ml.c5.xlarge" in answer.message


def test_best_is_the_cheapest_that_meets_the_slo():
    answer = plan_fleet(result(rec("fast", "ml.c5.2xlarge", 1200, 40, 0.4),
                               rec("cheap-slow", "ml.c5.large", 600, 150, 0.1),
                               rec("middle", "ml.c5.xlarge", 800, 80, 0.2)),
                        peak_rps=40, slo="P95:100")
    # 2400 req/min: fast 1200*.75=900 -> 3 x .4 = 1.2; cheap 450 -> 6 x .1 = .6; middle 600 -> 4 x .2 = .8
    assert [(p.recommendation_id, p.instances, p.cost_per_hour) for p in answer.plans] == [
        ("cheap-slow", 6, 0.6), ("middle", 4, 0.8), ("fast", 3, 1.2)]
    assert answer.best == 1 and answer.plans[answer.best].recommendation_id == "middle"
    assert not answer.plans[0].meets_slo


def test_nothing_meets_the_slo_names_the_closest():
    answer = plan_fleet(result(rec("a", "ml.c5.large", 600, 150, 0.1), rec("b", "ml.c5.xlarge", 800, 120, 0.2)),
                        peak_rps=10, slo="P95:100")
    assert answer.best is None and answer.chosen is answer.plans[answer.closest]
    assert answer.plans[answer.closest].recommendation_id == "b"  # 120 ms is nearest to 100
    assert "no configuration meets P95 <= 100 ms" in answer.message
    assert "closest is ml.c5.xlarge (120 ms, 20 ms over)" in answer.message
    assert answer.to_dict()["best"] is None


def test_the_interval_lower_end_is_planned_on():
    configs = [{"config_id": "local.cpu1", "recommendation_id": "r1", "max_invocations_ci": [500, 700]}]
    answer = plan_fleet(result(rec("r1", "local.cpu1", 600, 50, 0.05), configs=configs), peak_rps=10, slo="P95:100")
    (p,) = answer.plans
    assert p.max_invocations == 500 and p.max_invocations_reported == 600
    assert p.planned_on == "max_invocations_ci lower bound"
    assert p.instances == 2 and p.invocations_per_instance_target == 375.0  # 600/375 = 1.6 -> 2
    assert any("lower end" in n for n in p.notes)


def test_another_percentile_is_read_at_the_plateau_step():
    configs = [{"config_id": "local.cpu1", "recommendation_id": "r1", "plateau_step": 1}]
    steps = [{"config_id": "local.cpu1", "step": 0, "p95_ms": 30, "p99_ms": 40},
             {"config_id": "local.cpu1", "step": 1, "p95_ms": 50, "p99_ms": 140}]
    answer = plan_fleet(result(rec("r1", "local.cpu1", 600, 50, 0.05), configs=configs, steps=steps),
                        peak_rps=5, slo="P99:100")
    (p,) = answer.plans
    assert p.latency_ms == 140 and p.latency_source == "plateau step p99_ms" and not p.meets_slo


def test_serverless_and_empty_recommendations_are_skipped_with_a_note():
    serverless = rec("s", "x", 600, 50, 0.0)
    del serverless["EndpointConfiguration"]["InstanceType"]
    answer = plan_fleet(result(serverless, rec("r", "ml.c5.large", 600, 50, 0.1)), peak_rps=1, slo="P95:100")
    assert [p.recommendation_id for p in answer.plans] == ["r"]
    assert any("serverless" in n for n in answer.notes)
    empty = plan_fleet(result(), peak_rps=1, slo="P95:100")
    assert empty.plans == [] and empty.best is None and "no recommendation" in empty.message


@pytest.mark.parametrize(("text", "expected"), [
    ("P95:200", Slo("P95", 200)), ("p99:150ms", Slo("P99", 150)), ("250", Slo("P95", 250)),
])
def test_slo_parsing(text, expected):
    assert Slo.parse(text) == expected


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"slo": "P42:100"}, "--slo"), ({"slo": "P95:fast"}, "--slo"), ({"slo": "P95:0"}, "--slo"),
    ({"headroom": 1.0}, "--headroom"), ({"headroom": -0.1}, "--headroom"), ({"peak_rps": 0}, "--peak-rps"),
    ({"peak_rps": None}, "--peak-rps"), ({"hours_per_month": 0}, "--hours-per-month"),
])
def test_bad_inputs_name_their_option(kwargs, field):
    args = {"peak_rps": 10, "slo": "P95:100", **kwargs}
    with pytest.raises(SpecError) as err:
        plan_fleet(result(rec("r", "ml.c5.large", 600, 50, 0.1)), **args)
    assert err.value.field == field


def test_a_trace_gives_peak_min_capacity_autoscaled_cost_and_a_prediction(tmp_path):
    trace = tmp_path / "day.csv"  # per-minute: quiet 120/min, busy 1800/min, burst 3000/min
    trace.write_text("minute,requests\n0,120\n1,1800\n2,3000\n3,120\n")
    answer = plan_fleet(result(rec("r", "ml.c5.large", 1000, 50, 0.1)), slo="P95:100", trace=trace,
                        hours_per_month=100)
    (p,) = answer.plans
    assert answer.peak_rps == 50  # the trace's busiest minute: 3000/min
    assert p.instances == 4 and p.invocations_per_instance_target == 750  # 3000 / 750
    assert p.min_capacity == 1 and answer.min_rps == 2.0
    # instances per minute: 1, 3, 4, 1 -> mean 2.25 x $0.1 x 100 h
    assert p.cost_per_month_autoscaled == pytest.approx(22.5)
    assert p.cost_per_month == 40.0
    assert trace_prediction(p, trace) == {"over_capacity": [], "over_target": []}
    share = trace_prediction(p, trace, rate_scale=0.25, instances=1)  # one instance's quarter
    assert share == {"over_capacity": [], "over_target": []}
    half = trace_prediction(p, trace, instances=2)  # two instances: 2000/min of capacity, 1500 target
    assert half == {"over_capacity": [2], "over_target": [1, 2]}


def test_one_reader_for_both_policy_sources():
    answer = plan_fleet(result(rec("r", "ml.c5.large", 800, 50, 0.1)), peak_rps=20, slo="P95:100", min_rps=5)
    ours = answer.plans[0].scaling
    theirs = {"InferenceRecommendationsJobName": "fleet-job", "RecommendationId": "r",
              "Metric": {"InvocationsPerInstance": 610, "ModelLatency": 48},
              "DynamicScalingConfiguration": {"MinCapacity": 1, "MaxCapacity": 3, "ScaleInCooldown": 600,
                                              "ScaleOutCooldown": 300, "ScalingPolicies": [{"TargetTracking": {
                                                  "MetricSpecification": {"Predefined": {
                                                      "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
                                                  "TargetValue": 610.0}}]}}
    a, b = policy_summary(ours), policy_summary(theirs)
    assert set(a) == set(b)
    assert (a["source"], a["target_value"], a["min_capacity"], a["max_capacity"]) == ("irkit", 600.0, 1, 2)
    assert (b["source"], b["target_value"], b["max_capacity"]) == ("sagemaker", 610.0, 3)
    assert ours["ScalingPolicyObjective"] == {"MaxInvocationsPerMinute": 1200, "MinInvocationsPerMinute": 300}
    calls = application_autoscaling_calls(ours, "my-endpoint")
    assert calls["register_scalable_target"]["MaxCapacity"] == 2
    assert calls["put_scaling_policy"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 600.0


def test_cli_json_contract(tmp_path, capsys):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result(rec("a", "local.cpu1", 600, 150, 0.05), rec("b", "local.cpu2", 1200, 80, 0.1))))
    code = main(["plan", str(path), "--peak-rps", "30", "--slo", "P95:100", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    keys = {"recommendation_id", "instance_type", "environment", "instances", "cost_per_hour", "cost_per_month",
            "meets_slo", "invocations_per_instance_target", "min_capacity", "max_capacity"}
    assert all(keys <= set(p) for p in out["plans"])
    assert out["plans"][out["best"]]["recommendation_id"] == "b"  # 1800 / 900 = 2 x 0.1
    assert out["plans"][out["best"]]["instances"] == 2


def test_cli_says_when_nothing_meets_the_slo(tmp_path, capsys):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result(rec("a", "local.cpu1", 600, 150, 0.05))))
    code = main(["plan", str(path), "--peak-rps", "5", "--slo", "P95:100"])
    out = capsys.readouterr().out
    assert code == 1
    assert "no configuration meets P95 <= 100 ms; the closest is local.cpu1 (150 ms, 50 ms over)" in out
    assert main(["plan", str(path), "--slo", "P95:100"]) == 2  # no --peak-rps and no --trace
    assert "--peak-rps" in capsys.readouterr().err


def test_cli_reads_a_job_of_the_history(local_result, capsys):
    from irkit.results import history
    from irkit.store import Store

    history.import_result(local_result, Store())
    assert main(["plan", "latest", "--peak-rps", "50", "--slo", "P95:200"]) == 0
    out = capsys.readouterr().out
    assert "demo-local (local)" in out and "scaling (irkit): target 1047" in out
