"""`irkit recommend --backend sagemaker --model M --payload P`: the payload is checked on a local
server before CreateInferenceRecommendationsJob is sent (and a bad payload costs no AWS call)."""

from __future__ import annotations

import argparse
import io
import json
import tarfile

import pytest
import yaml
from sm_helpers import ROLE, describe_response, recommendation, step

from irkit.backends.sagemaker import SageMakerBackend
from irkit.backends.sagemaker.clients import AwsClients
from irkit.cli import main
from irkit.cli.recommend import _local_preflight
from irkit.store import Store

SPEC = {
    "job_name": "preflight-job",
    "framework": "TENSORFLOW",
    "sample_payload_url": "s3://bucket/payload.tar.gz",
    "supported_content_types": ["application/json"],
    "supported_instance_types": ["ml.c5.xlarge"],
}

pytestmark = pytest.mark.slow


def _bad_payload(tmp_path):
    """A payload.tar.gz whose sample has the wrong shape for the tiny model."""
    body = json.dumps([[1.0, 2.0, 3.0]]).encode()
    path = tmp_path / "bad-payload.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("wrong-shape.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return path


def test_bad_payload_stops_before_any_aws_call(ir_stub, tiny_model_tarball, tmp_path, monkeypatch, capsys):
    client, _stubber = ir_stub  # no responses queued: any AWS call would fail the stubber
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store())
    monkeypatch.setattr("irkit.backends.get_backend", lambda name, **kw: backend)
    spec_path = tmp_path / "job.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    code = main(["recommend", str(spec_path), "--backend", "sagemaker", "--role-arn", ROLE,
                 "--model-name", "resnet50", "--model", str(tiny_model_tarball),
                 "--payload", str(_bad_payload(tmp_path)), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "pre-flight" in err and "wrong-shape.json" in err
    assert Store().list_jobs() == []


def test_good_payload_passes_then_the_job_is_created(ir_stub, tiny_model_tarball, resnet_payload_tarball):
    client, stubber = ir_stub
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store())
    request = backend.render(SPEC, model_name="resnet50", role_arn=ROLE)
    stubber.add_response("create_inference_recommendations_job", {"JobArn": "arn:job"}, request)
    args = argparse.Namespace(model=str(tiny_model_tarball), payload=str(resnet_payload_tarball))
    handle = backend.submit(SPEC, model_name="resnet50", role_arn=ROLE, preflight=_local_preflight(args))
    assert handle.job_name == "preflight-job"


def test_recommend_sagemaker_waits_prints_and_writes_the_result(ir_stub, tmp_path, monkeypatch, capsys):
    """The whole CLI path on SageMaker: render, create, poll through IN_PROGRESS, describe, table, --out."""
    client, stubber = ir_stub
    backend = SageMakerBackend(AwsClients(sagemaker=client), store=Store(), poll_s=0, sleep=lambda _s: None)
    monkeypatch.setattr("irkit.backends.get_backend", lambda name, **kw: backend)
    request = backend.render(SPEC, model_name="resnet50", role_arn=ROLE)
    stubber.add_response("create_inference_recommendations_job", {"JobArn": "arn:job"}, request)
    name = request["JobName"]
    recs = [recommendation("rec-1", "ml.c5.xlarge", {"OMP_NUM_THREADS": "2"})]
    for status in ("IN_PROGRESS", "COMPLETED"):
        stubber.add_response("describe_inference_recommendations_job",
                             describe_response(name, status, **({"recommendations": recs} if status == "COMPLETED" else {})),
                             {"JobName": name})
        stubber.add_response("list_inference_recommendations_job_steps",
                             {"Steps": [step(name, "COMPLETED" if status == "COMPLETED" else "IN_PROGRESS")]},
                             {"JobName": name})
    stubber.add_response("describe_inference_recommendations_job",
                         describe_response(name, "COMPLETED", recommendations=recs), {"JobName": name})
    spec_path = tmp_path / "job.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "result.json"
    code = main(["recommend", str(spec_path), "--backend", "sagemaker", "--role-arn", ROLE,
                 "--model-name", "resnet50", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert json.loads(out.read_text())["InferenceRecommendations"][0]["RecommendationId"] == "rec-1"
    assert "ml.c5.xlarge" in printed and "OMP_NUM_THREADS=2" in printed
    assert Store().get_job(name)["backend"] == "sagemaker"
