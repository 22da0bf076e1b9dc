"""A real HTTP path for SageMaker endpoint benchmarks: moto's ThreadedMotoServer on 127.0.0.1.

The server runs in this test process; Locust subprocesses reach it over HTTP with the fake
credentials tests/conftest.py sets. Invoke answers are canned through moto's
``/moto-api/static/sagemaker/endpoint-results`` API.
"""

from __future__ import annotations

import json
import socket
import urllib.request
import uuid

import pytest
from helpers_process import MARK_ENV, marked

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url():
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def canned_results(moto_url: str, bodies: list[str]) -> None:
    """Queue invoke_endpoint answers: each distinct request (target, body) takes the next one."""
    data = json.dumps({"region": REGION, "results": [
        {"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic"}
        for body in bodies]}).encode()
    request = urllib.request.Request(f"{moto_url}/moto-api/static/sagemaker/endpoint-results", data=data,
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


@pytest.fixture
def aws_clients(moto_url):
    import boto3

    from irkit.backends.sagemaker.clients import AwsClients

    session = boto3.session.Session()
    return AwsClients(sagemaker=session.client("sagemaker", region_name=REGION, endpoint_url=moto_url),
                      s3=session.client("s3", region_name=REGION, endpoint_url=moto_url), region=REGION)


def create_endpoint(sagemaker, name: str, instance_type: str = "ml.c5.xlarge", count: int = 2) -> str:
    """A Model, EndpointConfig and Endpoint in moto (InService at once)."""
    sagemaker.create_model(ModelName=f"{name}-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/ir",
                           PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tfs:2",
                                             "Mode": "MultiModel",
                                             "ModelDataUrl": "s3://bucket/models/"})
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-model", "InstanceType": instance_type,
        "InitialInstanceCount": count}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return name


@pytest.fixture
def endpoint(aws_clients):
    runtime_backend().results.clear()  # runtime_requests() then sees this test's requests only
    return create_endpoint(aws_clients.sagemaker, f"mme-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def payload(tmp_path):
    """payload.tar.gz holding one sample.json (the spec's sample_payload_url form)."""
    import tarfile

    sample = tmp_path / "sample.json"
    sample.write_bytes(b"[[0.1, 0.2, 0.3]]")
    path = tmp_path / "payload.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(sample, arcname="sample.json")
    return path


@pytest.fixture
def mark(monkeypatch):
    """A unique env mark every Locust process of this test inherits, to look for leftovers."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, value)
    return value


def marked_processes(mark: str) -> list:
    """Live processes carrying ``mark`` (one copy of the search: tests/helpers_process.py)."""
    return marked(mark)


def runtime_backend():
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    return sagemakerruntime_backends["123456789012"][REGION]


def runtime_requests() -> list[dict]:
    """The distinct requests moto's runtime backend answered since the test began (headers, body).

    moto 5 files them under endpoint None (it reads EndpointName from the query), so all are taken.
    """
    import base64

    return [{k.lower(): v for k, v in json.loads(base64.b64decode(key)).items()}
            for answers in runtime_backend().results.values() for key in answers]


def spec_dict(payload, **extra) -> dict:
    spec = {"job_name": f"bench-{uuid.uuid4().hex[:6]}", "sample_payload_url": str(payload),
            "supported_content_types": ["application/json"],
            "stairs": {"duration_in_seconds": 2, "number_of_steps": 2, "users_per_step": 1}}
    spec.update(extra)
    return spec
