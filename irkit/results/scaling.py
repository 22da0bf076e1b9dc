"""Autoscaling policies in GetScalingConfigurationRecommendation's response shape, and one reader.

SageMaker's Inference Recommender answers ``GetScalingConfigurationRecommendation`` with a
target-tracking policy on ``SageMakerVariantInvocationsPerInstance``. irkit writes its own policy
for every plan (local jobs too) in the same shape, so :func:`policy_summary` reads either:

    {"InferenceRecommendationsJobName", "RecommendationId",
     "ScalingPolicyObjective": {"MinInvocationsPerMinute", "MaxInvocationsPerMinute"},
     "Metric": {"InvocationsPerInstance", "ModelLatency"},
     "DynamicScalingConfiguration": {"MinCapacity", "MaxCapacity", "ScaleInCooldown", "ScaleOutCooldown",
         "ScalingPolicies": [{"TargetTracking": {"MetricSpecification": {"Predefined":
             {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}, "TargetValue": float}}]}}

irkit's answer also carries ``"Source": "irkit"`` (the service's has none). Pure: no boto3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

INVOCATIONS_PER_INSTANCE = "SageMakerVariantInvocationsPerInstance"
SCALE_IN_COOLDOWN_S = 300  # Application Auto Scaling's default; scale in slowly
SCALE_OUT_COOLDOWN_S = 60  # scale out within a minute of a burst (one CloudWatch period)
SOURCE_IRKIT = "irkit"
SOURCE_SAGEMAKER = "sagemaker"


def local_policy(plan: Any, *, job_name: str, peak_rps: float, min_rps: float | None = None) -> dict[str, Any]:
    """irkit's policy for a ``FleetPlan``: track ``invocations_per_instance_target`` between its capacities."""
    objective: dict[str, int] = {"MaxInvocationsPerMinute": int(math.ceil(peak_rps * 60))}
    if min_rps:
        objective["MinInvocationsPerMinute"] = int(round(min_rps * 60))
    metric: dict[str, int] = {"InvocationsPerInstance": int(plan.invocations_per_instance_target)}
    if plan.latency_ms is not None:
        metric["ModelLatency"] = int(round(plan.latency_ms))
    return {
        "InferenceRecommendationsJobName": job_name,
        "RecommendationId": plan.recommendation_id,
        "ScalingPolicyObjective": objective,
        "Metric": metric,
        "DynamicScalingConfiguration": {
            "MinCapacity": int(plan.min_capacity),
            "MaxCapacity": int(plan.max_capacity),
            "ScaleInCooldown": SCALE_IN_COOLDOWN_S,
            "ScaleOutCooldown": SCALE_OUT_COOLDOWN_S,
            "ScalingPolicies": [{"TargetTracking": {
                "MetricSpecification": {"Predefined": {"PredefinedMetricType": INVOCATIONS_PER_INSTANCE}},
                "TargetValue": float(plan.invocations_per_instance_target)}}],
        },
        "Source": SOURCE_IRKIT,
    }


def policy_summary(response: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of a policy from either source: target value, metric, capacities, cooldowns."""
    dynamic = response.get("DynamicScalingConfiguration") or {}
    target = metric = None
    for policy in dynamic.get("ScalingPolicies") or []:
        tracking = policy.get("TargetTracking") or {}
        if tracking.get("TargetValue") is None:
            continue
        target = float(tracking["TargetValue"])
        spec = tracking.get("MetricSpecification") or {}
        metric = ((spec.get("Predefined") or {}).get("PredefinedMetricType")
                  or (spec.get("Customized") or {}).get("MetricName"))
        break
    if target is None and (response.get("Metric") or {}).get("InvocationsPerInstance") is not None:
        target, metric = float(response["Metric"]["InvocationsPerInstance"]), INVOCATIONS_PER_INSTANCE
    return {
        "source": response.get("Source") or (SOURCE_SAGEMAKER if response else None),
        "recommendation_id": response.get("RecommendationId"),
        "metric": metric,
        "target_value": target,
        "min_capacity": dynamic.get("MinCapacity"),
        "max_capacity": dynamic.get("MaxCapacity"),
        "scale_in_cooldown": dynamic.get("ScaleInCooldown"),
        "scale_out_cooldown": dynamic.get("ScaleOutCooldown"),
        "model_latency_ms": (response.get("Metric") or {}).get("ModelLatency"),
    }


def application_autoscaling_calls(response: Mapping[str, Any], endpoint_name: str,
                                  variant_name: str = "AllTraffic") -> dict[str, dict[str, Any]]:
    """The two Application Auto Scaling requests that apply a policy (either source) to an endpoint."""
    summary = policy_summary(response)
    resource = f"endpoint/{endpoint_name}/variant/{variant_name}"
    return {
        "register_scalable_target": {
            "ServiceNamespace": "sagemaker", "ResourceId": resource,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": int(summary["min_capacity"] or 1), "MaxCapacity": int(summary["max_capacity"] or 1)},
        "put_scaling_policy": {
            "PolicyName": f"{endpoint_name}-invocations-target", "ServiceNamespace": "sagemaker",
            "ResourceId": resource, "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": summary["target_value"],
                "PredefinedMetricSpecification": {"PredefinedMetricType": summary["metric"] or INVOCATIONS_PER_INSTANCE},
                "ScaleInCooldown": int(summary["scale_in_cooldown"] or SCALE_IN_COOLDOWN_S),
                "ScaleOutCooldown": int(summary["scale_out_cooldown"] or SCALE_OUT_COOLDOWN_S)}},
    }
