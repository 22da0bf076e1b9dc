"""Deploy a recommendation (Model with its env, EndpointConfig, Endpoint) and scaling advice."""

from __future__ import annotations

import time
from typing import Any

from irkit.backends.sagemaker.clients import AwsClients, error_message
from irkit.errors import BackendError

VARIANT_NAME = "AllTraffic"


def find_recommendation(
    result: dict[str, Any], recommendation_id: str, missing_ok: bool = False
) -> dict[str, Any] | None:
    for rec in result.get("InferenceRecommendations") or []:
        if rec.get("RecommendationId") == recommendation_id:
            return rec
    if missing_ok:
        return None
    known = [r.get("RecommendationId") for r in result.get("InferenceRecommendations") or []]
    raise BackendError(
        f"recommendation {recommendation_id!r} is not in job {result.get('JobName')}; "
        f"its recommendations are: {', '.join(map(str, known)) or 'none'}"
    )


def _source_container(
    clients: AwsClients, result: dict[str, Any]
) -> tuple[str, str, dict[str, str], str | None]:
    """(image, model data URL, env, execution role) of the model the job benchmarked."""
    input_config = result.get("InputConfig", {})
    sm = clients.sagemaker
    try:
        if "ModelPackageVersionArn" in input_config:
            package = sm.describe_model_package(
                ModelPackageName=input_config["ModelPackageVersionArn"]
            )
            container = package["InferenceSpecification"]["Containers"][0]
            return (
                container["Image"],
                container["ModelDataUrl"],
                dict(container.get("Environment", {})),
                None,
            )
        model = sm.describe_model(ModelName=input_config["ModelName"])
    except KeyError as exc:
        raise BackendError(
            f"job {result.get('JobName')} names neither a model nor a model package"
        ) from exc
    except Exception as exc:
        raise BackendError(f"looking up the job's model failed: {error_message(exc)}") from exc
    container = model["PrimaryContainer"]
    return (
        container["Image"],
        container["ModelDataUrl"],
        dict(container.get("Environment", {})),
        model.get("ExecutionRoleArn"),
    )


def deploy_recommendation(
    clients: AwsClients,
    result: dict[str, Any],
    recommendation_id: str,
    *,
    endpoint_name: str | None = None,
    role_arn: str | None = None,
) -> dict[str, str]:
    """Create Model, EndpointConfig and Endpoint for one recommendation; return their names."""
    rec = find_recommendation(result, recommendation_id)
    assert rec is not None
    image, model_data, env, model_role = _source_container(clients, result)
    for param in rec.get("ModelConfiguration", {}).get("EnvironmentParameters", []):
        env[param["Key"]] = param["Value"]
    role = role_arn or model_role or result.get("RoleArn")
    if not role:
        raise BackendError("deploy needs role_arn: the job result names no role")
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    base = (endpoint_name or f"{result.get('JobName', 'irkit')}"[:40]).rstrip("-")
    names = {
        "model_name": f"{base}-{stamp}"[:63],
        "endpoint_config_name": f"{base}-cfg-{stamp}"[:63],
        "endpoint_name": endpoint_name or f"{base}-{stamp}"[:63],
    }
    endpoint = rec.get("EndpointConfiguration", {})
    variant: dict[str, Any] = {
        "VariantName": endpoint.get("VariantName") or VARIANT_NAME,
        "ModelName": names["model_name"],
    }
    if "ServerlessConfig" in endpoint:
        variant["ServerlessConfig"] = endpoint["ServerlessConfig"]
    else:
        variant["InstanceType"] = endpoint["InstanceType"]
        variant["InitialInstanceCount"] = int(endpoint.get("InitialInstanceCount", 1))
    sm = clients.sagemaker
    container: dict[str, Any] = {"Image": image, "ModelDataUrl": model_data}
    if env:
        container["Environment"] = env
    try:
        sm.create_model(
            ModelName=names["model_name"], ExecutionRoleArn=role, PrimaryContainer=container
        )
        sm.create_endpoint_config(
            EndpointConfigName=names["endpoint_config_name"], ProductionVariants=[variant]
        )
        sm.create_endpoint(
            EndpointName=names["endpoint_name"], EndpointConfigName=names["endpoint_config_name"]
        )
    except Exception as exc:
        raise BackendError(
            f"deploying recommendation {recommendation_id} failed: {error_message(exc)}"
        ) from exc
    return names


def scaling_recommendation(
    clients: AwsClients,
    job_name: str,
    *,
    recommendation_id: str | None = None,
    endpoint_name: str | None = None,
    target_cpu_utilization_per_core: int | None = None,
    min_invocations_per_minute: int | None = None,
    max_invocations_per_minute: int | None = None,
) -> dict[str, Any]:
    """GetScalingConfigurationRecommendation for a job's recommendation or benchmarked endpoint."""
    kwargs: dict[str, Any] = {"InferenceRecommendationsJobName": job_name}
    if recommendation_id:
        kwargs["RecommendationId"] = recommendation_id
    if endpoint_name:
        kwargs["EndpointName"] = endpoint_name
    if target_cpu_utilization_per_core is not None:
        kwargs["TargetCpuUtilizationPerCore"] = target_cpu_utilization_per_core
    objective = {}
    if min_invocations_per_minute is not None:
        objective["MinInvocationsPerMinute"] = min_invocations_per_minute
    if max_invocations_per_minute is not None:
        objective["MaxInvocationsPerMinute"] = max_invocations_per_minute
    if objective:
        kwargs["ScalingPolicyObjective"] = objective
    try:
        response = clients.sagemaker.get_scaling_configuration_recommendation(**kwargs)
    except Exception as exc:
        raise BackendError(
            f"GetScalingConfigurationRecommendation {job_name} failed: {error_message(exc)}"
        ) from exc
    response.pop("ResponseMetadata", None)
    return response
