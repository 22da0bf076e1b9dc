"""Build the local job's result in DescribeInferenceRecommendationsJob's shape (docs/architecture.md).

Pure functions: a finished config's outcome (a plain dict kept in the job store) becomes one
``InferenceRecommendations[]`` entry, or one ``EndpointPerformances[]`` entry for an existing
endpoint, and the job's configs and steps become the whole Describe answer plus the ``irkit`` key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from irkit import states
from irkit.load.model_tally import flatten_per_model

VARIANT_NAME = "AllTraffic"
ENDPOINT_CONFIG_ID = "endpoint"  # the config id used when an existing endpoint is benchmarked


def iso(timestamp: float | None) -> str | None:
    """Epoch seconds as an ISO-8601 UTC string (the JSON-safe form of IR's datetimes)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def recommendation_id(job_name: str, config_id: str) -> str:
    """Stable and unique within a job, shaped like IR's ``<job-name>/<8 hex>``."""
    return f"{job_name}/{hashlib.sha1(config_id.encode()).hexdigest()[:8]}"


def endpoint_name_for(url: str) -> str:
    """An EndpointName-safe label for a URL: ``http://127.0.0.1:8080`` -> ``127-0-0-1-8080``."""
    host = re.sub(r"^[a-z]+://", "", url).split("/")[0]
    name = re.sub(r"[^A-Za-z0-9]+", "-", host).strip("-")
    return (name or "endpoint")[:63]


def cost_per_inference(cost_per_hour: float, max_invocations: float) -> float | None:
    """CostPerHour / (MaxInvocations per minute x 60 minutes)."""
    if max_invocations <= 0:
        return None
    return cost_per_hour / (max_invocations * 60)


def build_recommendation(job_name: str, outcome: Mapping[str, Any]) -> dict[str, Any] | None:
    """One InferenceRecommendations[] entry from a config outcome (see runner.ConfigOutcome.to_dict)."""
    if outcome.get("max_invocations", 0) <= 0:
        return None
    price = float(outcome["price_per_hour"])
    metrics: dict[str, Any] = {
        "CostPerHour": price,
        "CostPerInference": cost_per_inference(price, outcome["max_invocations"]),
        "MaxInvocations": int(outcome["max_invocations"]),
        "ModelLatency": int(round(outcome["model_latency_ms"] or 0)),
    }
    for key, name in (("cpu_utilization", "CpuUtilization"), ("memory_utilization", "MemoryUtilization"),
                      ("model_setup_time_s", "ModelSetupTime")):
        if outcome.get(key) is not None:
            metrics[name] = float(outcome[key])
    rec: dict[str, Any] = {
        "RecommendationId": recommendation_id(job_name, outcome["config_id"]),
        "Metrics": metrics,
        "EndpointConfiguration": {
            "EndpointName": f"{job_name}-{hashlib.sha1(outcome['config_id'].encode()).hexdigest()[:8]}"[:63],
            "VariantName": VARIANT_NAME,
            "InstanceType": outcome["instance_type"],
            "InitialInstanceCount": 1,
        },
        "ModelConfiguration": {
            "EnvironmentParameters": [
                {"Key": k, "ValueType": "String", "Value": str(v)}
                for k, v in sorted((outcome.get("environment") or {}).items())
            ]
        },
    }
    if outcome.get("started_at") is not None:
        rec["InvocationStartTime"] = iso(outcome["started_at"])
    if outcome.get("ended_at") is not None:
        rec["InvocationEndTime"] = iso(outcome["ended_at"])
    return rec


def build_endpoint_performance(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """One EndpointPerformances[] entry for a benchmarked existing endpoint."""
    return {
        "Metrics": {
            "MaxInvocations": int(outcome.get("max_invocations") or 0),
            "ModelLatency": int(round(outcome.get("model_latency_ms") or 0)),
        },
        "EndpointInfo": {"EndpointName": outcome.get("endpoint_name") or endpoint_name_for(outcome["url"])},
    }


def input_config(spec: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    """IR's InputConfig for a job irkit ran, in the API's casing, with local paths as URLs.

    ``meta``: ``model_path`` and ``payload_path``; with ``endpoint_url`` (and ``endpoint_name``) the job
    benchmarked an existing endpoint.
    """
    from irkit.spec.request import traffic_request

    out: dict[str, Any] = {}
    if spec.job_duration_in_seconds:
        out["JobDurationInSeconds"] = spec.job_duration_in_seconds
    pattern = traffic_request(spec)  # IR's casing, from the same table as to_request
    if pattern is not None:
        out["TrafficPattern"] = pattern
    if meta.get("endpoint_url"):
        out["Endpoints"] = [{"EndpointName": meta.get("endpoint_name") or endpoint_name_for(meta["endpoint_url"])}]
    else:
        out["EndpointConfigurations"] = [{"InstanceType": t} for t in spec.instance_types()]
        out["ModelUrl"] = meta.get("model_path")
    out["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": meta.get("payload_path"),
                                                "SupportedContentTypes": list(spec.supported_content_types)}}
    return out


def job_status(config_rows: Sequence[Mapping[str, Any]], total: int, stopped: bool) -> tuple[str, str | None]:
    """The job's Status and FailureReason from its configs' rows (store.configs)."""
    if stopped:
        return states.STOPPED, None
    completed = [c for c in config_rows if c["status"] == states.COMPLETED]
    failed = [c for c in config_rows if c["status"] == states.FAILED]
    if completed:
        return states.COMPLETED, None
    if failed or total:
        reasons = "; ".join(f"{c['config_id']}: {c['failure_reason']}" for c in failed)
        return states.FAILED, reasons or "no configuration finished"
    return states.FAILED, "the spec gives no configuration to test"


def build_result(
    job: Mapping[str, Any],
    config_rows: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
    *,
    status: str,
    failure_reason: str | None = None,
    job_type: str = "Default",
    input_config: Mapping[str, Any] | None = None,
    finished_at: float | None = None,
) -> dict[str, Any]:
    """The whole Describe-shaped answer for a local job from the store's rows."""
    job_name = job["job_name"]
    meta = job.get("meta") or {}
    recommendations: list[dict[str, Any]] = []
    performances: list[dict[str, Any]] = []
    configs_out: list[dict[str, Any]] = []
    load_modes: set[str] = set()
    for row in config_rows:
        outcome = row.get("recommendation") or {}
        rec = None
        if row["status"] == states.COMPLETED and outcome:
            if outcome.get("url"):
                performances.append(build_endpoint_performance(outcome))
            else:
                rec = build_recommendation(job_name, outcome)
                if rec is not None:
                    recommendations.append(rec)
        if outcome.get("load_mode"):
            load_modes.add(outcome["load_mode"])
        configs_out.append({
            "config_id": row["config_id"],
            "instance_type": row["instance_type"],
            "environment": row.get("env") or {},
            "status": row["status"],
            "failure_reason": row.get("failure_reason"),
            "recommendation_id": rec["RecommendationId"] if rec else None,
            "plateau_step": outcome.get("plateau_step"),
            "plateau_reason": outcome.get("plateau_reason"),
            "price_is_estimate": outcome.get("price_is_estimate"),
            "max_invocations_ci": outcome.get("max_invocations_ci"),
            "stable": outcome.get("stable"),
            "knee": ({"users": outcome.get("knee_users"), "reason": outcome.get("plateau_reason"),
                      **(outcome.get("knee_detail") or {})}
                     if outcome.get("knee_users") is not None else None),
            "generator": outcome.get("generator"),
            "contention": outcome.get("contention"),
            "warnings": outcome.get("warnings") or [],
        })
        if outcome.get("fidelity") is not None:  # another runtime than TensorFlow (irkit.serve.fidelity)
            configs_out[-1]["fidelity"] = outcome["fidelity"]
    result: dict[str, Any] = {
        "JobName": job_name,
        "JobType": job_type,
        "JobArn": f"arn:irkit:local:inference-recommendations-job/{job['job_id']}",
        "Status": status,
        "CreationTime": iso(job.get("created_at")),
        "LastModifiedTime": iso(finished_at or job.get("updated_at")),
        "InputConfig": dict(input_config or {}),
        "InferenceRecommendations": recommendations,
        "EndpointPerformances": performances,
        "irkit": {
            "backend": "local",
            "job_id": job["job_id"],
            "load_mode": sorted(load_modes)[0] if len(load_modes) == 1 else (meta.get("load_mode") or "closed"),
            "workers": int(meta.get("workers") or 0),
            "model": meta.get("model_path"),
            "endpoint_url": meta.get("endpoint_url"),
            "configs": configs_out,
            "steps": [{k: v for k, v in s.items() if k != "step_index"} for s in steps],
        },
    }
    per_model = flatten_per_model(result["irkit"]["steps"])
    if per_model:
        result["irkit"]["per_model"] = per_model
    if failure_reason:
        result["FailureReason"] = failure_reason
    if states.is_terminal(status) and finished_at is not None:
        result["CompletionTime"] = iso(finished_at)
    return result

