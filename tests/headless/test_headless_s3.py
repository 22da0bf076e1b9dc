"""--out s3://bucket/prefix: the run folder is staged locally, then uploaded (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from headless_fixtures import recorded_result, recording_notebook, write_notebook
from moto import mock_aws

from irkit.errors import SpecError
from irkit.headless import run_notebooks
from irkit.headless.folder import RunFolder, split_s3


def test_split_s3():
    assert split_s3("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_s3("s3://bucket") == ("bucket", "")
    with pytest.raises(SpecError, match="names no bucket"):
        RunFolder("s3:///x", "name")


@mock_aws
def test_run_uploads_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="runs-bucket")
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps(recorded_result()))
    nb = recording_notebook(tmp_path / "04_job.ipynb")
    run = run_notebooks([nb], "s3://runs-bucket/nightly", {"result_file": str(result_file)})
    uri = run.manifest["uploaded_to"]
    assert uri == f"s3://runs-bucket/nightly/{run.folder.name}"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="runs-bucket")["Contents"]}
    prefix = f"nightly/{run.folder.name}/"
    assert {prefix + "run.json", prefix + "04_job.ipynb", prefix + "result.json"} <= keys
    uploaded = json.loads(s3.get_object(Bucket="runs-bucket", Key=prefix + "run.json")["Body"].read())
    assert uploaded["status"] == "succeeded" and uploaded["out"] == "s3://runs-bucket/nightly"


@mock_aws
def test_failed_run_is_uploaded_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="runs-bucket")
    nb = write_notebook(tmp_path / "bad.ipynb", "x = 1", "raise SystemError('no')")
    with pytest.raises(Exception, match="bad.ipynb"):
        run_notebooks([nb], "s3://runs-bucket", {})
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="runs-bucket")["Contents"]}
    assert any(k.endswith("/bad.ipynb") for k in keys) and any(k.endswith("/run.json") for k in keys)
