"""Describe and pre-flight failures: named in the error, recorded FAILED in the store, no load started."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.stub import Stubber
from endpoint_helpers import REGION, spec_dict

from irkit.backends.sagemaker.clients import AwsClients
from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint
from irkit.backends.sagemaker.endpoint_info import describe_endpoint, endpoint_price_per_hour
from irkit.errors import BackendError
from irkit.store import Store


def _stubbed(status="InService", variants=None):
    client = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("describe_endpoint", {
        "EndpointName": "ep", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "EndpointConfigName": "ep-config", "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 3}]},
        {"EndpointName": "ep"})
    if status == "InService":
        stub.add_response("describe_endpoint_config", {
            "EndpointConfigName": "ep-config", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ep-config",
            "CreationTime": "2026-01-01T00:00:00Z",
            "ProductionVariants": variants or [{"VariantName": "AllTraffic", "ModelName": "m",
                                                "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1}]},
            {"EndpointConfigName": "ep-config"})
    stub.activate()
    return client


def test_describe_uses_the_current_instance_count_and_prices_it():
    description = describe_endpoint(_stubbed(), "ep")
    assert (description.instance_type, description.instance_count) == ("ml.c5.xlarge", 3)
    from irkit.pricing import price

    assert endpoint_price_per_hour(description, REGION) == pytest.approx(3 * price("ml.c5.xlarge", REGION))


def test_serverless_endpoint_has_no_instance_price():
    description = describe_endpoint(_stubbed(variants=[{"VariantName": "AllTraffic", "ModelName": "m",
                                                         "ServerlessConfig": {"MemorySizeInMB": 2048,
                                                                              "MaxConcurrency": 5}}]), "ep")
    assert description.instance_type == "serverless"
    assert endpoint_price_per_hour(description, REGION) is None


def test_endpoint_not_in_service_is_refused_by_name():
    with pytest.raises(BackendError, match=r"'ep' is Creating, not InService"):
        describe_endpoint(_stubbed(status="Creating"), "ep")


def test_failed_preflight_names_endpoint_and_target_and_is_stored(aws_clients, endpoint, payload, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = Store(tmp_path / "irkit.db")
    spec = spec_dict(payload, target_models={"models": ["b.tar.gz", "a.tar.gz"], "distribution": "zipf"})
    with pytest.raises(BackendError, match=rf"'{endpoint}' \(target model 'b.tar.gz'\)"):
        benchmark_endpoint(spec, endpoint, clients=AwsClients(sagemaker=aws_clients.sagemaker, region=REGION),
                           endpoint_url=dead, store=store)
    job = store.list_jobs()[0]
    assert job["status"] == "FAILED" and "pre-flight" in job["failure_reason"]
    assert store.steps(job["job_id"]) == []
    assert job["result"]["irkit"]["configs"][0]["status"] == "FAILED"


def test_runtime_config_for_a_hand_started_master(tmp_path, payload):
    import json

    from irkit.backends.sagemaker.endpoint_bench import RUNTIME_KEY, runtime_extra_config
    from irkit.load import generator as load
    from irkit.spec import load_spec

    spec = load_spec(spec_dict(payload, target_models={"models": ["a", "b"], "distribution": "zipf"}))
    traffic = spec.traffic()
    sample = tmp_path / "sample.json"
    sample.write_text("[[1]]")
    path = load.write_config(tmp_path / "config.json", sample, "application/json", load.plan_windows(traffic),
                             traffic=traffic, generators=4,
                             extra=runtime_extra_config(spec, "my-mme", region="eu-west-1", seed=5))
    config = json.loads(path.read_text())
    assert config["generators"] == 4 and len(config["windows"]) == 2
    runtime = config[RUNTIME_KEY]
    assert (runtime["endpoint_name"], runtime["region"], runtime["seed"]) == ("my-mme", "eu-west-1", 5)
    assert runtime["target_models"]["models"] == ["a.tar.gz", "b.tar.gz"]


def test_runtime_locustfile_imports_locust_before_boto3_and_is_not_imported_by_irkit():
    import ast
    import subprocess
    import sys

    from irkit.backends.sagemaker.endpoint_bench import RUNTIME_LOCUSTFILE

    tree = ast.parse(RUNTIME_LOCUSTFILE.read_text())
    order = [alias.name if isinstance(node, ast.Import) else node.module
             for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in (node.names if isinstance(node, ast.Import) else node.names[:1])]
    first_locust = next(i for i, name in enumerate(order) if name.split(".")[0] == "locust")
    first_aws = next(i for i, name in enumerate(order) if name.split(".")[0] in ("boto3", "botocore"))
    first_irkit = next(i for i, name in enumerate(order) if name.split(".")[0] == "irkit")
    assert first_locust < first_irkit < first_aws
    code = ("import sys, irkit, irkit.backends.sagemaker, irkit.backends.sagemaker.endpoint_bench; "
            "print(sorted(m for m in ('locust', 'gevent', 'boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
