"""Latency and errors as the runtime user sees them, against a stand-in runtime API with a known delay.

moto answers every invocation at once and never fails, so this stand-in (stdlib HTTP server on
127.0.0.1) answers ``POST /endpoints/<name>/invocations`` after SERVICE_MS, and fails one target
model with SageMaker's ModelError, so timing and per-model error accounting can be checked.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from endpoint_helpers import marked_processes, spec_dict

from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint

pytestmark = pytest.mark.slow

SERVICE_MS = 25.0
BROKEN = "broken.tar.gz"


class _Runtime(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        model = self.headers.get("X-Amzn-SageMaker-Target-Model")
        if model == BROKEN:
            body = json.dumps({"ErrorCode": "ModelError", "Message": f"model {model} failed to load"}).encode()
            self._answer(424, body, {"x-amzn-ErrorType": "ModelError:http://internal.amazon.com/coral/"})
            return
        time.sleep(SERVICE_MS / 1000.0)
        self._answer(200, b'{"predictions": [[1.0]]}', {})

    def _answer(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # Locust stopped mid-request: not news
        pass


@pytest.fixture
def runtime_url():
    server = _QuietServer(("127.0.0.1", 0), _Runtime)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_latency_is_the_call_time_and_errors_are_filed_per_model(aws_clients, endpoint, payload, runtime_url,
                                                                  mark):
    spec = spec_dict(payload, target_models={"models": ["good.tar.gz", BROKEN], "weights": [3, 1]})
    result = benchmark_endpoint(spec, endpoint, clients=aws_clients, endpoint_url=runtime_url)
    steps = result["irkit"]["steps"]
    assert len(steps) == 1  # a quarter of the requests fail: the first step breaks the SLO and ends the run
    per_model = result["irkit"]["per_model"]
    good = [e for e in per_model if e["model"] == "good.tar.gz"]
    broken = [e for e in per_model if e["model"] == BROKEN]
    assert good and broken
    for entry in good:
        assert entry["errors"] == 0
        # one user per step on a 25 ms service: the median is the service time plus the HTTP round trip
        print(f"good.tar.gz step {entry['step']}: p50 {entry['p50_ms']} ms p99 {entry['p99_ms']} ms for a {SERVICE_MS} ms service")
        assert SERVICE_MS <= entry["p50_ms"] < SERVICE_MS + 25
    for entry in broken:
        assert entry["errors"] == entry["requests"] > 0 and entry["p50_ms"] is None
    for step in steps:
        errors = sum(e["errors"] for e in per_model if e["step"] == step["step"])
        assert step["errors"] == errors > 0
    assert result["Status"] == "FAILED" and "errors" in result["FailureReason"]
    assert not marked_processes(mark)
