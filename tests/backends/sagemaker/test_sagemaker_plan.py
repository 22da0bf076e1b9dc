"""`irkit plan` on a SageMaker job: GetScalingConfigurationRecommendation (Stubber) beside irkit's policy."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.backends.sagemaker import AwsClients, SageMakerBackend
from irkit.cli import main
from irkit.results.scaling import policy_summary
from irkit.store import Store

RECORDED = Path(__file__).resolve().parents[2] / "results" / "data" / "sagemaker_describe.json"


def _service_answer(job, rec_id, max_capacity):
    return {"InferenceRecommendationsJobName": job, "RecommendationId": rec_id,
            "ScalingPolicyObjective": {"MaxInvocationsPerMinute": 3000},
            "Metric": {"InvocationsPerInstance": 560, "ModelLatency": 70},
            "DynamicScalingConfiguration": {
                "MinCapacity": 1, "MaxCapacity": max_capacity, "ScaleInCooldown": 600, "ScaleOutCooldown": 300,
                "ScalingPolicies": [{"TargetTracking": {
                    "MetricSpecification": {"Predefined": {"PredefinedMetricType":
                                                           "SageMakerVariantInvocationsPerInstance"}},
                    "TargetValue": 560.0}}]}}


def test_plan_shows_the_service_policy_beside_irkits(ir_stub, monkeypatch, capsys):
    client, stubber = ir_stub
    result = json.loads(RECORDED.read_text())
    job = result["JobName"]
    instance_recs = [r for r in result["InferenceRecommendations"]
                     if r["EndpointConfiguration"].get("InstanceType")]
    for i, rec in enumerate(instance_recs):  # one call per instance-based recommendation, in the job's order
        stubber.add_response("get_scaling_configuration_recommendation",
                             _service_answer(job, rec["RecommendationId"], 5 + i),
                             {"InferenceRecommendationsJobName": job, "RecommendationId": rec["RecommendationId"],
                              "ScalingPolicyObjective": {"MaxInvocationsPerMinute": 3000}})
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store())
    monkeypatch.setattr("irkit.backends.get_backend", lambda name, **kw: backend)
    code = main(["plan", str(RECORDED), "--peak-rps", "50", "--slo", "P95:100", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["backend"] == "sagemaker"
    best = out["plans"][out["best"]]
    assert best["recommendation_id"] == "resnet50-advanced/b2c3d4e5" and best["instances"] == 5
    ours, theirs = policy_summary(best["scaling"]), policy_summary(best["scaling_sagemaker"])
    assert (ours["source"], ours["target_value"], ours["max_capacity"]) == ("irkit", 630.0, 5)
    assert (theirs["source"], theirs["target_value"], theirs["scale_in_cooldown"]) == ("sagemaker", 560.0, 600)
    assert any("SageMaker's policy: target 560" in n for n in best["notes"])
    assert all(p["scaling_sagemaker"] for p in out["plans"])


def test_plan_text_shows_both_policies(ir_stub, monkeypatch, capsys):
    client, stubber = ir_stub
    result = json.loads(RECORDED.read_text())
    job = result["JobName"]
    for rec in result["InferenceRecommendations"]:
        if rec["EndpointConfiguration"].get("InstanceType"):
            stubber.add_response("get_scaling_configuration_recommendation",
                                 _service_answer(job, rec["RecommendationId"], 6))
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store())
    monkeypatch.setattr("irkit.backends.get_backend", lambda name, **kw: backend)
    assert main(["plan", str(RECORDED), "--peak-rps", "50", "--slo", "P95:100"]) == 0
    out = capsys.readouterr().out
    assert "scaling (irkit): target 630 SageMakerVariantInvocationsPerInstance, capacity 1-5" in out
    assert "scaling (SageMaker): target 560 SageMakerVariantInvocationsPerInstance, capacity 1-6" in out


def test_a_failing_service_call_is_one_note_not_a_crash(ir_stub, monkeypatch, capsys):
    client, stubber = ir_stub
    stubber.add_client_error("get_scaling_configuration_recommendation", "ResourceNotFound", "no such job")
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store())
    monkeypatch.setattr("irkit.backends.get_backend", lambda name, **kw: backend)
    assert main(["plan", str(RECORDED), "--peak-rps", "50", "--slo", "P95:100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [n for n in out["notes"] if "GetScalingConfigurationRecommendation" in n and "no such job" in n]
    assert all(p["scaling_sagemaker"] is None and p["scaling"] for p in out["plans"])
