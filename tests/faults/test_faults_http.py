"""What a plain HTTP client sees from the real model server process: the 413 for a body over
6 MB (not "connection reset"), and ``--endpoint-url`` given as the base URL or as ``.../invocations``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import yaml
from faults_helpers import run_cli

from irkit.backends.local.backend import endpoint_base_url
from irkit.serve.process import ServerProcess

pytestmark = pytest.mark.slow

LIMIT = 6 * 1024 * 1024
# 9 MB of JSON numbers in TF Serving's form: what a client sends by mistake with a big image
BIG_JSON = b'{"instances": [' + b",".join([b"0.123456"] * 1_000_000) + b"]}"


@pytest.fixture(scope="module")
def server(tiny_model_tarball):
    with ServerProcess(tiny_model_tarball) as running:
        yield running


def _post_urllib(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("attempt", range(3))  # the reset was a race the client lost most times
def test_urllib_reads_the_413_and_its_message(server, attempt):
    assert len(BIG_JSON) > LIMIT
    status, body = _post_urllib(server.url, BIG_JSON)
    assert status == 413
    assert f"request body of {len(BIG_JSON)} bytes is over the {LIMIT}-byte limit" in body["error"]


@pytest.mark.parametrize("attempt", range(3))
def test_requests_reads_the_413_and_its_message(server, attempt):
    requests = pytest.importorskip("requests")
    answer = requests.post(server.url + "/invocations", data=BIG_JSON, timeout=60,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "over the" in answer.json()["error"]
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200  # and it still serves


def test_a_body_under_the_limit_after_a_413_is_answered(server, resnet_payload_tarball, tmp_path):
    import tarfile

    with tarfile.open(resnet_payload_tarball) as tar:
        sample = tar.extractfile("sample.json").read()
    assert _post_urllib(server.url, BIG_JSON)[0] == 413
    status, body = _post_urllib(server.url, sample)
    assert status == 200 and len(body["predictions"][0]) == 1000


@pytest.mark.parametrize("pasted, base", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ("http://127.0.0.1:8080/invocations", "http://127.0.0.1:8080"),
    ("http://127.0.0.1:8080/invocations/", "http://127.0.0.1:8080"),
    (" http://h:1/prefix/invocations ", "http://h:1/prefix"),
])
def test_endpoint_base_url(pasted, base):
    assert endpoint_base_url(pasted) == base


@pytest.mark.parametrize("suffix", ["", "/invocations"])
def test_recommend_endpoint_url_takes_the_base_url_or_invocations(server, resnet_payload_tarball, tmp_path, suffix):
    spec = tmp_path / "endpoint.yaml"
    spec.write_text(yaml.safe_dump({
        "job_name": "endpoint", "sample_payload_url": str(resnet_payload_tarball),
        "supported_content_types": ["application/json"],
        "stairs": {"duration_in_seconds": 1, "number_of_steps": 2, "users_per_step": 1},
    }))
    done = run_cli(["recommend", str(spec), "--endpoint-url", server.url + suffix, "--no-progress",
                    "--out", str(tmp_path / "result.json")], timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["Status"] == "COMPLETED"
    assert result["irkit"]["endpoint_url"] == server.url
    assert result["EndpointPerformances"][0]["Metrics"]["MaxInvocations"] > 0
