"""Fixtures for the SageMaker backend: Stubber-wrapped IR client, moto for S3/models/registry."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "spec"))  # ir_examples

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
REGION = "us-east-1"
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def one_attempt_client(service: str):
    """A client that surfaces throttling at once (no botocore retries), so irkit's own handling is tested."""
    return boto3.client(
        service, region_name=REGION, config=Config(retries={"mode": "standard", "max_attempts": 1})
    )


@pytest.fixture
def ir_stub():
    client = one_attempt_client("sagemaker")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def describe_response(
    job_name: str,
    status: str,
    *,
    failure_reason: str | None = None,
    recommendations: list | None = None,
    input_config: dict | None = None,
) -> dict:
    response = {
        "JobName": job_name,
        "JobType": "Default",
        "RoleArn": ROLE,
        "Status": status,
        "JobArn": f"arn:aws:sagemaker:{REGION}:123456789012:inference-recommendations-job/{job_name}",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        "InputConfig": input_config or {"ModelName": "resnet50-model"},
    }
    if failure_reason:
        response["FailureReason"] = failure_reason
    if recommendations is not None:
        response["InferenceRecommendations"] = recommendations
        response["CompletionTime"] = NOW
    return response


def recommendation(rec_id: str, instance_type: str, env: dict[str, str]) -> dict:
    return {
        "RecommendationId": rec_id,
        "Metrics": {
            "CostPerHour": 0.2,
            "CostPerInference": 1e-6,
            "MaxInvocations": 3000,
            "ModelLatency": 80,
        },
        "EndpointConfiguration": {
            "EndpointName": "ir-endpoint",
            "VariantName": "AllTraffic",
            "InstanceType": instance_type,
            "InitialInstanceCount": 1,
        },
        "ModelConfiguration": {
            "EnvironmentParameters": [
                {"Key": k, "ValueType": "String", "Value": v} for k, v in env.items()
            ]
        }
        if env
        else {},
    }


def step(job_name: str, status: str, instance_type: str = "ml.c5.xlarge") -> dict:
    return {
        "StepType": "BENCHMARK",
        "JobName": job_name,
        "Status": status,
        "InferenceBenchmark": {
            "EndpointConfiguration": {
                "EndpointName": "e",
                "VariantName": "AllTraffic",
                "InstanceType": instance_type,
            },
            "ModelConfiguration": {},
        },
    }
