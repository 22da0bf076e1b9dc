"""JobSpec <-> CreateInferenceRecommendationsJob request, as the SageMaker Python SDK builds it.

``request_from_spec`` reproduces what ``Model.right_size()`` sends (sagemaker 2.x,
``inference_recommender_mixin.py`` and ``Session._create_inference_recommendations_job_request``)
with two deliberate differences: the SDK's fixed ``JobDescription``/``Tags`` are not sent, and
``Domain``/``Task`` come from the spec (defaulting to the SDK's hard-coded MACHINE_LEARNING/OTHER).
An endpoint configuration with no env ranges carries no ``EnvironmentParameterRanges`` (the SDK
sends an empty list, which the service model's minimum of 1 refuses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from irkit.errors import SpecError

SDK_DEFAULT_DOMAIN = "MACHINE_LEARNING"
SDK_DEFAULT_TASK = "OTHER"
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
MODEL_PACKAGE_ARN_PATTERN = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/\S{1,2048}"
)
MODEL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")

# Request keys that carry nothing a spec needs to keep.
_IGNORED_REQUEST_KEYS = ("JobDescription", "Tags")


def request_from_spec(
    spec: Any,
    *,
    model_name: str | None = None,
    model_package_version_arn: str | None = None,
    role_arn: str,
) -> dict[str, Any]:
    """The exact CreateInferenceRecommendationsJob kwargs for ``spec`` (a JobSpec)."""
    if (model_name is None) == (model_package_version_arn is None):
        raise SpecError("model_name", "give exactly one of model_name or model_package_version_arn")
    if model_name is not None and (
        len(model_name) > 63 or not MODEL_NAME_PATTERN.fullmatch(model_name)
    ):
        raise SpecError("model_name", f"{model_name!r} is not a valid SageMaker model name")
    if model_package_version_arn is not None and not MODEL_PACKAGE_ARN_PATTERN.fullmatch(
        model_package_version_arn
    ):
        raise SpecError(
            "model_package_version_arn", f"{model_package_version_arn!r} is not a model package ARN"
        )
    if not isinstance(role_arn, str) or not ROLE_ARN_PATTERN.fullmatch(role_arn):
        raise SpecError(
            "role_arn", f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)"
        )
    spec.validate(target="sagemaker")
    if not spec.job_name:
        raise SpecError("job_name", "is required to render a SageMaker request")

    container: dict[str, Any] = {
        "Domain": spec.domain or SDK_DEFAULT_DOMAIN,
        "Task": spec.task or SDK_DEFAULT_TASK,
    }
    if spec.framework:
        container["Framework"] = spec.framework
    payload: dict[str, Any] = {}
    if spec.sample_payload_url:
        payload["SamplePayloadUrl"] = spec.sample_payload_url
    if spec.supported_content_types:
        payload["SupportedContentTypes"] = list(spec.supported_content_types)
    if payload:
        container["PayloadConfig"] = payload
    if spec.framework_version:
        container["FrameworkVersion"] = spec.framework_version
    if spec.nearest_model_name:
        container["NearestModelName"] = spec.nearest_model_name
    if spec.supported_instance_types:
        container["SupportedInstanceTypes"] = list(spec.supported_instance_types)
    if spec.endpoint_type:
        container["SupportedEndpointType"] = spec.endpoint_type

    input_config: dict[str, Any] = {"ContainerConfig": container}
    if model_package_version_arn:
        input_config["ModelPackageVersionArn"] = model_package_version_arn
    else:
        input_config["ModelName"] = model_name
    if spec.job_duration_in_seconds:
        input_config["JobDurationInSeconds"] = spec.job_duration_in_seconds
    if spec.endpoints:
        input_config["Endpoints"] = [{"EndpointName": name} for name in spec.endpoints]

    request: dict[str, Any] = {
        "JobName": spec.job_name,
        "JobType": spec.job_type,
        "RoleArn": role_arn,
        "InputConfig": input_config,
    }
    if spec.job_type == "Advanced":
        stopping = _stopping_conditions(spec)
        if stopping:
            request["StoppingConditions"] = stopping
        limit = _resource_limit(spec)
        if limit:
            input_config["ResourceLimit"] = limit
        traffic = _traffic_pattern(spec)
        if traffic:
            input_config["TrafficPattern"] = traffic
        endpoint_configs = _endpoint_configurations(spec)
        if endpoint_configs:
            input_config["EndpointConfigurations"] = endpoint_configs
    return request


def _stopping_conditions(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.max_invocations:
        out["MaxInvocations"] = spec.max_invocations
    if spec.model_latency_thresholds:
        out["ModelLatencyThresholds"] = [
            {"Percentile": t.percentile, "ValueInMilliseconds": t.value_in_milliseconds}
            for t in spec.model_latency_thresholds
        ]
    if spec.flat_invocations:
        out["FlatInvocations"] = spec.flat_invocations
    return out


def _resource_limit(spec: Any) -> dict[str, Any]:
    out = {}
    if spec.max_tests:
        out["MaxNumberOfTests"] = spec.max_tests
    if spec.max_parallel_tests:
        out["MaxParallelOfTests"] = spec.max_parallel_tests
    return out


def _traffic_pattern(spec: Any) -> dict[str, Any] | None:
    if spec.stairs is not None:
        s = spec.stairs
        return {
            "TrafficType": "STAIRS",
            "Stairs": {
                "DurationInSeconds": s.duration_in_seconds,
                "NumberOfSteps": s.number_of_steps,
                "UsersPerStep": s.users_per_step,
            },
        }
    if not spec.phases:
        return None
    phases = [
        {
            "DurationInSeconds": p.duration_in_seconds,
            "InitialNumberOfUsers": p.initial_number_of_users,
            "SpawnRate": p.spawn_rate,
        }
        for p in spec.phases
    ]
    return {"Phases": phases, "TrafficType": spec.traffic_type or "PHASES"}


def _endpoint_configurations(spec: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for hp_range in spec.hyperparameter_ranges:
        ranges = [
            {"Name": name, "Value": list(values)} for name, values in hp_range.environment.items()
        ]
        for instance_type in hp_range.instance_types:
            entry: dict[str, Any] = {"InstanceType": instance_type}
            if ranges:
                entry["EnvironmentParameterRanges"] = {
                    "CategoricalParameterRanges": [dict(r) for r in ranges]
                }
            out.append(entry)
    for serverless in spec.serverless_configs:
        config = {
            "MemorySizeInMB": serverless.memory_size_in_mb,
            "MaxConcurrency": serverless.max_concurrency,
        }
        if serverless.provisioned_concurrency is not None:
            config["ProvisionedConcurrency"] = serverless.provisioned_concurrency
        out.append({"ServerlessConfig": config})
    return out


# ---- request -> spec -------------------------------------------------------------------------
def request_target(request: Mapping[str, Any]) -> dict[str, str | None]:
    """The model and role a request names: ``model_name``, ``model_package_version_arn``, ``role_arn``."""
    input_config = request.get("InputConfig", {})
    return {
        "model_name": input_config.get("ModelName"),
        "model_package_version_arn": input_config.get("ModelPackageVersionArn"),
        "role_arn": request.get("RoleArn"),
    }


def spec_from_request(request: Mapping[str, Any]) -> Any:
    """Read a CreateInferenceRecommendationsJob request back into a JobSpec."""
    from irkit.spec import JobSpec

    _refuse_unknown(
        "",
        request,
        (
            "JobName",
            "JobType",
            "RoleArn",
            "InputConfig",
            "StoppingConditions",
            *_IGNORED_REQUEST_KEYS,
        ),
    )
    input_config = request.get("InputConfig") or {}
    _refuse_unknown(
        "InputConfig",
        input_config,
        (
            "ModelName",
            "ModelPackageVersionArn",
            "JobDurationInSeconds",
            "TrafficPattern",
            "ResourceLimit",
            "EndpointConfigurations",
            "ContainerConfig",
            "Endpoints",
        ),
    )
    container = input_config.get("ContainerConfig") or {}
    _refuse_unknown(
        "InputConfig.ContainerConfig",
        container,
        (
            "Domain",
            "Task",
            "Framework",
            "FrameworkVersion",
            "PayloadConfig",
            "NearestModelName",
            "SupportedInstanceTypes",
            "SupportedEndpointType",
        ),
    )
    payload = container.get("PayloadConfig") or {}
    data: dict[str, Any] = {
        "job_name": request.get("JobName"),
        "framework": container.get("Framework"),
        "framework_version": container.get("FrameworkVersion"),
        "domain": None
        if container.get("Domain") == SDK_DEFAULT_DOMAIN
        else container.get("Domain"),
        "task": None if container.get("Task") == SDK_DEFAULT_TASK else container.get("Task"),
        "nearest_model_name": container.get("NearestModelName"),
        "sample_payload_url": payload.get("SamplePayloadUrl"),
        "supported_content_types": payload.get("SupportedContentTypes", ()),
        "supported_instance_types": container.get("SupportedInstanceTypes", ()),
        "endpoint_type": container.get("SupportedEndpointType"),
        "job_duration_in_seconds": input_config.get("JobDurationInSeconds"),
        "endpoints": [e["EndpointName"] for e in input_config.get("Endpoints", ())],
    }
    stopping = request.get("StoppingConditions") or {}
    data["max_invocations"] = stopping.get("MaxInvocations")
    data["flat_invocations"] = stopping.get("FlatInvocations")
    data["model_latency_thresholds"] = [
        {"percentile": t.get("Percentile"), "value_in_milliseconds": t.get("ValueInMilliseconds")}
        for t in stopping.get("ModelLatencyThresholds", ())
    ]
    limit = input_config.get("ResourceLimit") or {}
    data["max_tests"] = limit.get("MaxNumberOfTests")
    data["max_parallel_tests"] = limit.get("MaxParallelOfTests")
    traffic = input_config.get("TrafficPattern") or {}
    data["traffic_type"] = traffic.get("TrafficType")
    data["phases"] = [
        {
            "duration_in_seconds": p.get("DurationInSeconds"),
            "initial_number_of_users": p.get("InitialNumberOfUsers"),
            "spawn_rate": p.get("SpawnRate"),
        }
        for p in traffic.get("Phases", ())
    ]
    if "Stairs" in traffic:
        s = traffic["Stairs"]
        data["stairs"] = {
            "duration_in_seconds": s.get("DurationInSeconds"),
            "number_of_steps": s.get("NumberOfSteps"),
            "users_per_step": s.get("UsersPerStep"),
        }
    data["hyperparameter_ranges"], data["serverless_configs"] = _read_endpoint_configurations(
        input_config.get("EndpointConfigurations", ())
    )
    spec = JobSpec.from_dict({k: v for k, v in data.items() if v not in (None, [], ())})
    if request.get("JobType") not in (None, spec.job_type):
        raise SpecError(
            "JobType",
            f"request says {request.get('JobType')} but its fields make a {spec.job_type} job",
        )
    return spec


def _read_endpoint_configurations(
    entries: Any,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group consecutive instance types that share env ranges back into one hyperparameter range."""
    ranges: list[dict[str, Any]] = []
    serverless: list[dict[str, Any]] = []
    previous_env: dict[str, list[str]] | None = None
    for i, entry in enumerate(entries):
        _refuse_unknown(
            f"InputConfig.EndpointConfigurations[{i}]",
            entry,
            ("InstanceType", "ServerlessConfig", "EnvironmentParameterRanges"),
        )
        if "ServerlessConfig" in entry:
            c = entry["ServerlessConfig"]
            item = {
                "memory_size_in_mb": c.get("MemorySizeInMB"),
                "max_concurrency": c.get("MaxConcurrency"),
            }
            if "ProvisionedConcurrency" in c:
                item["provisioned_concurrency"] = c["ProvisionedConcurrency"]
            serverless.append(item)
            continue
        params = (entry.get("EnvironmentParameterRanges") or {}).get(
            "CategoricalParameterRanges", ()
        )
        env = {p["Name"]: list(p["Value"]) for p in params}
        if ranges and env == previous_env:
            ranges[-1]["instance_types"].append(entry.get("InstanceType"))
        else:
            ranges.append({"instance_types": [entry.get("InstanceType")], **env})
        previous_env = env
    return ranges, serverless


def _refuse_unknown(where: str, data: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise SpecError(where or "request", "expected a mapping")
    for key in data:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            raise SpecError(field, "is not supported by irkit job specs")
