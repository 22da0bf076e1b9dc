"""No AWS credentials in anything a headless run writes, from parameters or the environment."""

from __future__ import annotations

import json

import pytest
from headless_fixtures import write_notebook

from irkit.headless import run_notebooks
from irkit.headless.scrub import REDACTED, Scrubber, secret_env_values

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TEMP_KEY_ID = "ASIAY34FZKBOKMUTVV7A"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "a1B2c3D4" * 12
PARAM_SECRET = "hunter2-but-longer"


def test_patterns_and_literals():
    scrub = Scrubber([PARAM_SECRET])
    text = (f"id={KEY_ID} tmp {TEMP_KEY_ID} aws_secret_access_key = {SECRET}\n"
            f'"SessionToken": "{TOKEN}" password {PARAM_SECRET}')
    clean = scrub.text(text)
    for secret in (KEY_ID, TEMP_KEY_ID, SECRET, TOKEN, PARAM_SECRET):
        assert secret not in clean
    assert clean.count(REDACTED) >= 5
    assert scrub.text("AKIA is a prefix; local.cpu2 p95 172 ms") == "AKIA is a prefix; local.cpu2 p95 172 ms"


def test_values_under_secret_names_are_redacted():
    clean = Scrubber().value({"aws_secret_access_key": "short", "nested": [{"session_token": "x" * 30}],
                              "instance_types": ["local.cpu1"], "count": 3})
    assert clean == {"aws_secret_access_key": REDACTED, "nested": [{"session_token": REDACTED}],
                     "instance_types": ["local.cpu1"], "count": 3}


def test_env_secrets_are_collected():
    env = {"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": KEY_ID, "HOME": "/root"}
    assert set(secret_env_values(env)) == {SECRET, TOKEN, KEY_ID}


LEAKY = """\
import os
print("env", os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"], os.environ["AWS_ACCESS_KEY_ID"])
print("param", aws_secret_access_key, api_token)
print({"SecretAccessKey": aws_secret_access_key})
"""


@pytest.mark.parametrize("fail", [False, True])
def test_run_outputs_hold_no_credentials(tmp_path, monkeypatch, fail):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEMP_KEY_ID)
    cells = [LEAKY] + ([f"raise RuntimeError('bad key {KEY_ID} ' + aws_secret_access_key)"] if fail else [])
    nb = write_notebook(tmp_path / "leaky.ipynb", 'aws_secret_access_key = ""\napi_token = ""', *cells)
    params = {"aws_secret_access_key": "p" + SECRET[::-1], "api_token": PARAM_SECRET}
    try:
        run_notebooks([nb], tmp_path / "runs", params)
    except Exception as exc:
        assert fail, exc
        assert KEY_ID not in str(exc) and params["aws_secret_access_key"] not in str(exc)
    (folder,) = (tmp_path / "runs").iterdir()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"leaky.ipynb", "run.json"}
    everything = "\n".join(p.read_text(errors="replace") for p in files)
    for secret in (SECRET, TOKEN, TEMP_KEY_ID, KEY_ID, PARAM_SECRET, params["aws_secret_access_key"]):
        assert secret not in everything
    # the notebook did print them: the redaction markers prove the scrubber ran on real output
    outputs = json.dumps([c.get("outputs") for c in json.loads((folder / "leaky.ipynb").read_text())["cells"]])
    assert outputs.count(REDACTED) >= 6
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["parameters"]["*"]["api_token"] == REDACTED
