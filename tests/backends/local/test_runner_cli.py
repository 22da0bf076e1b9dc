"""`irkit recommend` end to end through the background job process, with fakes plugged in."""

from __future__ import annotations

import json

import yaml
from runner_fakes import FakeServer
from test_runner_lifecycle import SPEC

from irkit.cli import main
from irkit.cli.recommend import format_table


def test_recommend_writes_result_and_prints_table(plugged, tmp_path, capsys):
    spec_path = tmp_path / "job.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out" / "result.json"
    code = main(["recommend", str(spec_path), "--model", str(plugged["model"]), "--payload",
                 str(plugged["payload"]), "--out", str(out), "--no-progress"])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["Status"] == "COMPLETED" and len(result["InferenceRecommendations"]) == 3
    printed = capsys.readouterr().out
    assert "recommended: local.cpu1" in printed and "OMP_NUM_THREADS=" in printed


def test_recommend_endpoint_url_fills_endpoint_performances(plugged, tmp_path):
    server = FakeServer(None).start()
    try:
        spec = {"job_name": "ep", "endpoints": ["my-endpoint"], "supported_instance_types": ["local.cpu1"],
                "stairs": {"duration_in_seconds": 1, "number_of_steps": 4, "users_per_step": 1},
                "sample_payload_url": f"file://{plugged['payload']}"}
        spec_path = tmp_path / "ep.json"
        spec_path.write_text(json.dumps(spec))
        out = tmp_path / "ep-result.json"
        code = main(["recommend", str(spec_path), "--endpoint-url", server.url, "--out", str(out), "--no-progress"])
    finally:
        server.stop()
    assert code == 0
    result = json.loads(out.read_text())
    assert result["InferenceRecommendations"] == []
    (perf,) = result["EndpointPerformances"]
    assert perf["EndpointInfo"]["EndpointName"] == "my-endpoint"
    assert perf["Metrics"]["MaxInvocations"] == 50 * 60
    assert result["irkit"]["endpoint_url"] == server.url
    assert "endpoint my-endpoint" in format_table(result)


def test_recommend_without_model_names_the_option(plugged, tmp_path, capsys):
    spec_path = tmp_path / "job.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    code = main(["recommend", str(spec_path), "--payload", str(plugged["payload"])])
    assert code == 2 and "model" in capsys.readouterr().err


def test_recommend_sagemaker_needs_a_role(tmp_path, capsys):
    spec_path = tmp_path / "sm.yaml"
    spec_path.write_text(yaml.safe_dump({"job_name": "sm", "supported_instance_types": ["ml.c5.xlarge"]}))
    code = main(["recommend", str(spec_path), "--backend", "sagemaker"])
    assert code == 2 and "--role-arn" in capsys.readouterr().err


def test_resume_of_an_unknown_job_names_it(capsys):
    code = main(["recommend", "--resume", "no-such-job"])
    assert code == 1 and "no-such-job" in capsys.readouterr().err
